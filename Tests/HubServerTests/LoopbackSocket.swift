import Foundation

/// A blocking TCP socket connected to 127.0.0.1:`port` whose reads give up after
/// `timeout` seconds (a bound on failure, never a figure under test); nil if refused.
/// The caller closes it.
func loopbackSocket(port: Int, timeout: TimeInterval = 30, sendTimeout: Bool = false) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: .init((timeout - Double(Int(timeout))) * 1e6))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    if sendTimeout { setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else { close(fd); return nil }
    return fd
}

/// Reads `fd` until EOF, an error, the receive timeout, or `done` says the bytes so far
/// make a whole answer.
func readAnswer(_ fd: Int32, done: ([UInt8]) -> Bool = { _ in false }) -> [UInt8] {
    var data = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        data += buffer[0..<n]
        if done(data) { break }
    }
    return data
}
