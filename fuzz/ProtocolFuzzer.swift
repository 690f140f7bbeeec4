// libFuzzer entry point over everything that parses untrusted bytes: WebSocket client
// messages, NOTIFY payload routing, and REST bodies. Built by `make fuzz` from HubCore's
// sources into one module (swiftc -sanitize=fuzzer,address), so no import is needed.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? ClientMessage.parse(bytes)
    if let payload = NotificationPayload.parse(bytes), let range = payload.events {
        // The router slices the payload with this range: it must lie inside it.
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "event range outside the payload")
    }
    _ = try? RunRequestBody.decode(bytes)
    _ = try? SettingsRequestBody.decode(bytes)
    return 0
}
