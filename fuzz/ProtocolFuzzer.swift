// libFuzzer entry point over everything that parses untrusted bytes or does arithmetic on
// numbers a client, a provider or the database hands us: WebSocket client messages and the
// subscription decisions they lead to (since, cursor math), NOTIFY payload routing, REST
// bodies and cursors, and the JSON scalars the hub echoes back. Built by `make fuzz` from
// HubCore's sources into one module (swiftc -sanitize=fuzzer,address), so no import is
// needed. Any trap is a finding.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if case .subscribe(let topic, let since)? = try? ClientMessage.parse(bytes) {
        driveSubscription(topic, since: since, numbers: extremeNumbers(from: bytes))
    }
    if let payload = NotificationPayload.parse(bytes) {
        if let range = payload.events {
            // The router slices the payload with this range: it must lie inside it.
            precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "event range outside the payload")
        }
        // The router counts hi - lo + 1 events: lo/hi must be bounded so that cannot trap.
        precondition(SequenceNumber.range.contains(payload.lo) && SequenceNumber.range.contains(payload.hi), "unbounded seq")
        _ = payload.hi - payload.lo + 1
        if let cursor = StreamCursor(since: 0) { _ = cursor.placement(lo: payload.lo, hi: payload.hi) }
    }
    _ = try? RunRequestBody.decode(bytes)
    _ = try? SettingsRequestBody.decode(bytes)
    _ = LoginRequestBody.decode(bytes)
    if let scalar = try? JSONDecoder().decode(JSONScalar.self, from: Data(bytes)), let echo = scalar.json {
        // What the hub echoes (ping ids, refused topics) reads back as a value of the same kind.
        let back = try? JSONDecoder().decode(JSONScalar.self, from: Data(echo.utf8))
        precondition(back.map { kind($0) == kind(scalar) } ?? false, "the echo of \(scalar) is not JSON of its kind: \(echo)")
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if let cursor = RunPageCursor(text) {
        precondition(RunPageCursor(cursor.text) == cursor, "run cursor does not round-trip")
        _ = cursor.createdAt
    }
    _ = try? RunNaming.validate(text)
    return 0
}

/// string, number (integer or not), bool or other.
private func kind(_ scalar: JSONScalar) -> Int {
    switch scalar {
    case .string: return 0
    case .integer, .number: return 1
    case .bool: return 2
    case .other: return 3
    }
}

/// The fan-out's decisions for one subscription, with the wave bounds and cursor moves
/// taken from the input: every Int64 (min, max, negatives) must be answered, never trapped.
private func driveSubscription(_ topic: Topic, since: Int64?, numbers: [Int64]) {
    if since != nil { guard case .run = topic else { preconditionFailure("since accepted on \(topic)") } }
    // The parser bounds since: a cursor must always be constructible from it.
    guard var cursor = StreamCursor(since: since ?? 0) else { preconditionFailure("parser let an unbounded since through") }
    var i = 0
    while i + 1 < numbers.count {
        let lo = numbers[i], hi = numbers[i + 1]
        let before = cursor.last
        let placement = cursor.placement(lo: lo, hi: hi)
        let fresh = cursor.newItems(lo: lo, hi: hi)
        precondition(fresh >= 0, "negative new items")
        if case .overlapping(let skip) = placement { precondition(skip >= 1 && skip <= hi - lo, "skip outside the wave") }
        cursor.advance(to: hi)
        precondition(cursor.last >= before && SequenceNumber.range.contains(cursor.last), "cursor moved backwards or out of range")
        _ = cursor.isWithin(runSeq: lo)
        i += 2
    }
}

/// Int64s read from the input, plus the edges every run must survive.
private func extremeNumbers(from bytes: [UInt8]) -> [Int64] {
    var numbers: [Int64] = [.min, .max, -1, 0, 1, SequenceNumber.max, SequenceNumber.max + 1, .max - 1, .min + 1]
    var index = 0
    while index + 8 <= bytes.count, numbers.count < 64 {
        var value: UInt64 = 0
        for b in bytes[index..<(index + 8)] { value = value << 8 | UInt64(b) }
        numbers.append(Int64(bitPattern: value))
        index += 8
    }
    return numbers
}
