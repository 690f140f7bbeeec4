import Foundation

/// Encodable values (REST answers, CLI output, jsonb parameters) written by JSONWriter, so
/// they follow the writer's rules: keys sorted (stable output), UUIDs lower-case as
/// PostgreSQL prints them (clients compare ids from REST with ids in events), dates ISO
/// 8601 with milliseconds, integers exact to their last digit, and `RawJSON` copied as is.
extension JSONWriter {
    /// Appends `value`; throws for values JSON cannot hold (NaN, infinity).
    public mutating func encode(_ value: some Encodable) throws {
        let node = EncodedNode()
        try node.set(value, [])
        write(node)
    }

    /// `value` as JSON bytes.
    public static func encoded(_ value: some Encodable) throws -> [UInt8] {
        var writer = JSONWriter()
        try writer.encode(value)
        return writer.bytes
    }

    private mutating func write(_ node: EncodedNode) {
        switch node.content {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int64(i)
        case .uint(let u): uint64(u)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .raw(let json): raw(json)
        case .array:
            beginArray()
            for element in node.elements { write(element) }
            endArray()
        case .object, .empty:
            beginObject()
            for name in node.members.keys.sorted() {
                key(name)
                write(node.members[name]!)
            }
            endObject()
        }
    }
}

/// JSON text another part already produced (jsonb as PostgreSQL prints it, a trigger's
/// event), spliced into JSONWriter output without being decoded and re-encoded.
public struct RawJSON: Sendable, Equatable, Encodable {
    public let bytes: [UInt8]
    /// `bytes` must be one valid JSON value; the caller vouches for it.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Only JSONWriter can splice raw text; any other encoder is refused rather than given a
    /// string that looks like JSON.
    public func encode(to encoder: any Encoder) throws {
        throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "RawJSON is written by JSONWriter.encode"))
    }
}

/// The value an Encodable described, built first because Encoder lets a type open the same
/// container twice (a run plus its warnings) and keys are written sorted.
private final class EncodedNode {
    enum Content { case empty, null, bool(Bool), int(Int64), uint(UInt64), double(Double), string(String), raw([UInt8]), array, object }
    var content = Content.empty
    var elements: [EncodedNode] = []
    var members: [String: EncodedNode] = [:]

    private static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Leaves are recognised here, everything else describes itself through `NodeEncoder`.
    /// Every scalar container funnels into this one method.
    func set(_ value: some Encodable, _ path: [any CodingKey]) throws {
        switch value {
        case let v as String: content = .string(v)
        case let v as Bool: content = .bool(v)
        case let v as UUID: content = .string(v.uuidString.lowercased())
        case let v as Date: content = .string(v.formatted(Self.dateStyle))
        case let v as RawJSON: content = .raw(v.bytes)
        case let v as any BinaryInteger:
            if let i = Int64(exactly: v) {
                content = .int(i)
            } else if let u = UInt64(exactly: v) {
                content = .uint(u)
            } else {
                throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "integer beyond 64 bits"))
            }
        case let v as any BinaryFloatingPoint:
            let d = Double(v)
            guard d.isFinite else { throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "\(d) has no JSON form")) }
            content = .double(d)
        default:
            try value.encode(to: NodeEncoder(node: self, codingPath: path))
        }
    }

    func become(_ kind: Content) {
        switch (content, kind) {
        case (.object, .object), (.array, .array): return
        default:
            content = kind
            members = [:]
            elements = []
        }
    }

    func member(_ key: some CodingKey) -> EncodedNode {
        if let existing = members[key.stringValue] { return existing }
        let node = EncodedNode()
        members[key.stringValue] = node
        return node
    }

    func appended() -> EncodedNode {
        let node = EncodedNode()
        elements.append(node)
        return node
    }
}

private struct NodeEncoder: Encoder {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.become(.object)
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.become(.array)
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleNodeContainer(node: node, codingPath: codingPath) }
}

/// The generic `encode` witnesses every scalar overload of the container protocols.
private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodedNode
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.member(key).content = .null }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try node.member(key).set(value, codingPath + [key]) }
    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
        NodeEncoder(node: node.member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.member(SuperKey()), codingPath: codingPath + [SuperKey()]) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: node.member(key), codingPath: codingPath + [key]) }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    var count: Int { node.elements.count }

    mutating func encodeNil() throws { node.appended().content = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.appended().set(value, codingPath) }
    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) -> KeyedEncodingContainer<N> {
        NodeEncoder(node: node.appended(), codingPath: codingPath).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.appended(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.appended(), codingPath: codingPath) }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: EncodedNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.set(value, codingPath) }
}

private struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}
