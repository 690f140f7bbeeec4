import CLibWebSockets
import Foundation

/// An immutable outgoing WebSocket text frame whose bytes are stored once, with
/// `LWS_PRE` bytes of headroom, so the same object can be queued on thousands of sessions
/// and written by each straight from its buffer. (Server frames are unmasked: the frame
/// header lws writes into the headroom is identical for every session, and all writes
/// happen on the single loop thread.) May be created on any thread.
// @unchecked Sendable: immutable after init apart from the lws header headroom, written on the single loop thread.
public final class SharedFrame: @unchecked Sendable {
    let storage: UnsafeMutableRawPointer
    /// Payload length in bytes.
    public let count: Int
    /// Whether this frame may be merged with neighbours into one JSON array frame.
    public let isMergeableJSONArray: Bool
    /// For mergeable frames: true when the array has no elements (`[]`, `[ ]`).
    let isEmptyArray: Bool

    /// A frame carrying a copy of `payload`. With `mergeableJSONArray: true` the payload
    /// must be a JSON array (`[` … `]`, no surrounding whitespace; otherwise the flag is
    /// ignored); consecutive such frames queued on one session may then be sent as a
    /// single array `[a…, b…]` (see `HubLoopConfig.mergeJSONArrayFrames`).
    public convenience init(_ payload: UnsafeRawBufferPointer, mergeableJSONArray: Bool = false) {
        self.init(count: payload.count, mergeableJSONArray: mergeableJSONArray) { destination in
            if payload.count > 0 { destination.copyMemory(from: payload) }
        }
    }

    /// A frame carrying a copy of `bytes`.
    public convenience init(bytes: [UInt8], mergeableJSONArray: Bool = false) {
        self.init(count: bytes.count, mergeableJSONArray: mergeableJSONArray) { destination in
            bytes.withUnsafeBytes { if $0.count > 0 { destination.copyMemory(from: $0) } }
        }
    }

    /// A frame carrying the UTF-8 of `text`.
    public convenience init(text: String, mergeableJSONArray: Bool = false) {
        var text = text
        let count = text.utf8.count
        self.init(count: count, mergeableJSONArray: mergeableJSONArray) { destination in
            text.withUTF8 { if $0.count > 0 { destination.copyMemory(from: UnsafeRawBufferPointer($0)) } }
        }
    }

    init(count: Int, mergeableJSONArray: Bool, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        self.count = count
        storage = UnsafeMutableRawPointer.allocate(byteCount: lwsPre + max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: lwsPre)
        let payload = UnsafeMutableRawBufferPointer(start: storage + lwsPre, count: count)
        fill(payload)
        let looksLikeArray = count >= 2 && payload[0] == UInt8(ascii: "[") && payload[count - 1] == UInt8(ascii: "]")
        isMergeableJSONArray = mergeableJSONArray && looksLikeArray
        isEmptyArray = isMergeableJSONArray && payload[1..<(count - 1)].allSatisfy {
            $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D
        }
    }

    deinit { storage.deallocate() }

    /// Read access to the payload bytes.
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage + lwsPre, count: count))
    }

    /// Copy of the payload.
    public var bytes: [UInt8] { withPayload { Array($0) } }

    var payloadPointer: UnsafeMutablePointer<UInt8> {
        (storage + lwsPre).assumingMemoryBound(to: UInt8.self)
    }
}
