import Foundation

/// The hub's own listening socket: bound and listening in the constructor (so a port clash
/// is reported as `HubLoopError.portInUse` from `HubLoop.init`), non-blocking, accepted
/// from on the loop by `Acceptor`. Not tied to any lws context, so one socket can feed
/// several loops.
final class ListeningSocket {
    private(set) var fd: Int32
    /// The port actually bound (the ephemeral one when asked for 0).
    let port: Int

    /// Any thread. `host` is an IPv4/IPv6 literal, `0.0.0.0`/`::`/"" for every interface.
    /// `reusePort`: SO_REUSEPORT, so the other loops of this process bind the same port and
    /// the kernel spreads new connections over their sockets.
    init(host: String, port: Int, backlog: Int32 = 4096, reusePort: Bool = false) throws {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HubLoopError.listenFailed(host: host, port: port, reason: "socket() failed (errno \(errno))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var rc: Int32
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else {
                Glibc.close(fd)
                throw HubLoopError.listenFailed(host: host, port: port, reason: "not an IPv6 address")
            }
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host.isEmpty ? "0.0.0.0" : host, &addr.sin_addr) == 1 else {
                Glibc.close(fd)
                throw HubLoopError.listenFailed(host: host, port: port, reason: "not an IPv4 address")
            }
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if rc != 0 || listen(fd, backlog) != 0 {
            let error = errno
            Glibc.close(fd)
            if error == EADDRINUSE { throw HubLoopError.portInUse(host: host, port: port) }
            throw HubLoopError.listenFailed(host: host, port: port, reason: "bind/listen failed (errno \(error))")
        }
        self.fd = fd
        self.port = ListeningSocket.boundPort(fd) ?? port
    }

    deinit { close() }

    /// Stops listening (the port is free again). Idempotent; the owner's thread.
    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    private static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer -> Int in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Loop thread (the acceptor's). Accepts one pending connection, non-blocking; nil when
    /// none is waiting (or on a transient error such as EMFILE: the next readiness retries).
    func acceptOne() -> (fd: Int32, address: String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                accept(fd, $0, &length)
            }
        }
        guard client >= 0 else { return nil }
        // (accept4 is not in Glibc's Swift module.) lws also insists on non-blocking.
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return (client, ListeningSocket.addressText(&storage))
    }

    /// The peer address as text, as lws_get_peer_simple writes it ("127.0.0.1", "::1").
    private static func addressText(_ storage: inout sockaddr_storage) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = storage.ss_family
        withUnsafePointer(to: &storage) { pointer in
            if family == sa_family_t(AF_INET6) {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var address = a.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
                }
            } else {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                    var address = a.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
                }
            }
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
