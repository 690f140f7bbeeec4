import Foundation
@testable import HubServer
import HubClient
import HubTestSupport
import XCTest

final class TransportLoopTests: XCTestCase {
    func testPostFromAnotherThreadRunsOnLoop() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        let results = Recorder<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for i in 0..<50 {
                loop.post {
                    loop.preconditionOnLoop()
                    results.update { $0.append(worker * 1000 + i) }
                }
            }
        }
        XCTAssertTrue(results.wait { $0.count == 200 })
        // FIFO per posting thread.
        for worker in 0..<4 {
            let mine = results.value.filter { $0 / 1000 == worker }
            XCTAssertEqual(mine, mine.sorted())
        }
        XCTAssertFalse(loop.isOnLoop)
        XCTAssertEqual(onLoop(loop) { loop.isOnLoop }, true)
    }

    func testScheduleFiresAndCancelWorks() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        let fired = Recorder<[String]>([])
        _ = onLoop(loop) { () -> Bool in
            loop.schedule(after: .milliseconds(80)) { fired.update { $0.append("late") } }
            loop.schedule(after: .milliseconds(20)) { fired.update { $0.append("early") } }
            let cancelled = loop.schedule(after: .milliseconds(40)) { fired.update { $0.append("cancelled") } }
            cancelled.cancel()
            cancelled.cancel()
            return true
        }
        // Timers fire in deadline order, so by the time "late" (80 ms) has fired, the cancelled
        // 40 ms timer would have fired before it: no wait needed to see that it did not.
        XCTAssertTrue(fired.wait { $0.last == "late" })
        XCTAssertEqual(fired.value, ["early", "late"])
    }

    func testAdoptedPipeReportsReadableAndClose() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let readEnd = fds[0], writeEnd = fds[1]
        defer { close(writeEnd) }
        let reads = Recorder<[String]>([])
        let closedCount = Recorder(0)
        let adopted = onLoop(loop) { () -> LoopBoundClosure<AdoptedDescriptor>? in
            let descriptor = try? loop.adoptReadable(fd: dup(readEnd), onReadable: {
                loop.preconditionOnLoop()
                var buffer = [UInt8](repeating: 0, count: 256)
                let n = read(readEnd, &buffer, buffer.count)
                if n > 0 { reads.update { $0.append(String(decoding: buffer[0..<n], as: UTF8.self)) } }
            }, onClosed: { closedCount.update { $0 += 1 } })
            return descriptor.map { d in LoopBoundClosure { d } }
        }
        let descriptor = try XCTUnwrap(adopted ?? nil)
        _ = write(writeEnd, "ping", 4)
        XCTAssertTrue(reads.wait { $0 == ["ping"] })
        _ = write(writeEnd, "pong", 4)
        XCTAssertTrue(reads.wait { $0 == ["ping", "pong"] })
        // close() detaches: no more callbacks, no onClosed.
        _ = onLoop(loop) { () -> Bool in descriptor.body().close(); return descriptor.body().isOpen }
        _ = write(writeEnd, "more", 4)
        // Positive control: a second adopted pipe, written after "more", is read. The loop
        // polls both together, and a posted closure runs only after that service pass, so
        // had the detached pipe still been watched, "more" would be recorded by then.
        var marker: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&marker), 0)
        defer { close(marker[0]); close(marker[1]) }
        let markerRead = Recorder(false)
        let watcher = onLoop(loop) { () -> LoopBoundClosure<AdoptedDescriptor>? in
            let d = try? loop.adoptReadable(fd: dup(marker[0]), onReadable: {
                var buffer = [UInt8](repeating: 0, count: 16)
                if read(marker[0], &buffer, buffer.count) > 0 { markerRead.update { $0 = true } }
            }, onClosed: {})
            return d.map { d in LoopBoundClosure { d } }
        }
        _ = write(marker[1], "mark", 4)
        XCTAssertTrue(markerRead.wait { $0 }, "the control pipe was never read")
        _ = onLoop(loop) { true }
        XCTAssertEqual(reads.value, ["ping", "pong"])
        _ = onLoop(loop) { () -> Bool in (watcher ?? nil)?.body().close(); return true }
        XCTAssertEqual(closedCount.value, 0)
        close(readEnd)
    }

    func testAdoptedDescriptorHangupCallsOnClosed() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let closed = Latch()
        let ok = onLoop(loop) { () -> Bool in
            (try? loop.adoptReadable(fd: fds[0], onReadable: {
                var buffer = [UInt8](repeating: 0, count: 64)
                _ = read(fds[0], &buffer, buffer.count)
            }, onClosed: { closed.signal() })) != nil
        }
        XCTAssertEqual(ok, true)
        close(fds[1])  // writer gone: POLLHUP
        XCTAssertTrue(closed.wait())
    }

    func testStopJoinsThreadIsIdempotentAndThreadSafe() throws {
        let before = threadNames().filter { $0 == "chub-hub-lws" }.count
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler)
        XCTAssertEqual(threadNames().filter { $0 == "chub-hub-lws" }.count, before + 1)
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        XCTAssertTrue(handler.opened.wait { $0.count == 1 })
        DispatchQueue.concurrentPerform(iterations: 3) { _ in loop.stop() }
        loop.stop()
        XCTAssertEqual(threadNames().filter { $0 == "chub-hub-lws" }.count, before)
        // Open sessions were told the server is going away and didClose ran.
        XCTAssertEqual(client.waitForClose(), 1001)
        XCTAssertEqual(handler.closed.value.count, 1)
        // Posting after stop is a harmless no-op; start after stop is refused.
        loop.post { XCTFail("must not run") }
        XCTAssertThrowsError(try loop.start())
        // The listening socket is gone.
        XCTAssertNoThrow(try ListeningSocket(host: "127.0.0.1", port: loop.boundPort))
    }

    func testStopWithoutStartAndStopFromLoopThread() throws {
        let never = try HubLoop(config: HubLoopConfig(port: 0), http: ClosureHTTPHandler { _, r in r.respond(status: 200) },
                                websocket: TestWebSocketHandler())
        never.stop()
        never.stop()
        XCTAssertThrowsError(try never.start())

        let loop = try makeLoop()
        // Loops of earlier tests may still be finishing their stop: count once only ours is left.
        _ = waitUntil { threadNames().filter { $0 == "chub-hub-lws" }.count == 1 }
        let before = threadNames().filter { $0 == "chub-hub-lws" }.count
        loop.post { loop.stop() }  // only requests the stop
        loop.stop()                 // joins
        XCTAssertEqual(threadNames().filter { $0 == "chub-hub-lws" }.count, before - 1)
    }

    func testPortInUseGivesClearError() throws {
        let first = try makeLoop()
        defer { first.stop() }
        var config = HubLoopConfig(host: "127.0.0.1", port: first.boundPort)
        config.shutdownGracePeriod = .zero
        XCTAssertThrowsError(try HubLoop(config: config, http: ClosureHTTPHandler { _, _ in }, websocket: TestWebSocketHandler())) { error in
            XCTAssertEqual(error as? HubLoopError, .portInUse(host: "127.0.0.1", port: first.boundPort))
            XCTAssertEqual("\(error)", "port 127.0.0.1:\(first.boundPort) is already in use; choose another with --listen")
        }
    }

    func testClientLoopStopsCleanly() throws {
        // Client loops of earlier tests may still be finishing their stop.
        _ = waitUntil { threadNames().filter { $0 == "chub-cli-lws" }.isEmpty }
        let before = threadNames().filter { $0 == "chub-cli-lws" }.count
        let loop = try makeLoop()
        defer { loop.stop() }
        let clientLoop = WebSocketClientLoop()
        XCTAssertEqual(threadNames().filter { $0 == "chub-cli-lws" }.count, before + 1)
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort, loop: clientLoop)
        clientLoop.stop()
        clientLoop.stop()
        XCTAssertEqual(client.connection.state, .closed)
        XCTAssertEqual(threadNames().filter { $0 == "chub-cli-lws" }.count, before)
        // A refused TCP connection is reported as a connect error.
        XCTAssertThrowsError(try SimpleWebSocketClient.connect(port: 1, timeout: .seconds(5)))
    }
}

/// Opt-in measurement (CHUB_MEMORY_TEST=<connections>): server-side resident memory per
/// idle WebSocket connection. The clients live in a separate python process so only the
/// server's memory is counted.
final class TransportMemoryTests: XCTestCase {
    func testIdleConnectionFootprint() throws {
        guard let env = ProcessInfo.processInfo.environment["CHUB_MEMORY_TEST"], let count = Int(env) else {
            throw XCTSkip("set CHUB_MEMORY_TEST=<connections> to run")
        }
        let handler = TestWebSocketHandler()
        let rx = Int(ProcessInfo.processInfo.environment["CHUB_MEMORY_RX"] ?? "") ?? HubLoopConfig().wsRxBufferBytes
        let loop = try makeLoop(websocket: handler) { $0.wsRxBufferBytes = rx }
        defer { loop.stop() }
        let script = """
        import socket, sys
        n, port = int(sys.argv[1]), int(sys.argv[2])
        req = (b"GET /ws HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n")
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(req)
            data = b""
            while b"\\r\\n\\r\\n" not in data:
                data += s.recv(4096)
            assert b" 101 " in data, data
            socks.append(s)
        print("ready", flush=True)
        sys.stdin.read()
        """
        func rssKB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        // Warm up allocator/lws tables with a small batch first.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, String(count), String(loop.boundPort)]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        Thread.sleep(forTimeInterval: 0.2)
        let before = rssKB()
        try process.run()
        let ready = output.fileHandleForReading.availableData
        XCTAssertTrue(String(decoding: ready, as: UTF8.self).contains("ready"))
        XCTAssertTrue(handler.opened.wait(timeout: 60) { $0.count == count })
        Thread.sleep(forTimeInterval: 0.5)
        let after = rssKB()
        let perConnection = Double(after - before) * 1024 / Double(count)
        // A measurement, printed: figures belong in BENCHMARKS.md (`bench connections`), not asserts.
        print("idle connections: \(count), rx buffer \(rx), RSS +\(after - before) KiB, \(Int(perConnection)) bytes/connection")
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// Opt-in throughput check (CHUB_PERF_TEST=<clients>): waves of mergeable JSON-array
/// frames fanned out to many clients.
final class TransportPerformanceTests: XCTestCase {
    final class CountingHandler: WebSocketClientHandler, @unchecked Sendable {
        let bytes = Recorder(0)
        let messages = Recorder(0)
        func onText(_ connection: ClientConnection, _ data: [UInt8]) {
            bytes.update { $0 += data.count }
            messages.update { $0 += 1 }
        }
    }

    func testFanOutThroughput() throws {
        guard let env = ProcessInfo.processInfo.environment["CHUB_PERF_TEST"], let clients = Int(env) else {
            throw XCTSkip("set CHUB_PERF_TEST=<clients> to run")
        }
        let handler = TestWebSocketHandler()
        let merge = ProcessInfo.processInfo.environment["CHUB_PERF_MERGE"] != "0"
        let loop = try makeLoop(websocket: handler) { $0.mergeJSONArrayFrames = merge }
        defer { loop.stop() }
        let clientLoop = WebSocketClientLoop()
        defer { clientLoop.stop() }
        let counter = CountingHandler()
        for _ in 0..<clients {
            _ = clientLoop.connect(port: loop.boundPort, path: "/ws", handler: counter)
        }
        XCTAssertTrue(handler.opened.wait(timeout: 60) { $0.count == clients })
        let event = "{\"type\":\"item.progress\",\"collection\":\"c-123\",\"item\":\"i-456\",\"done\":17,\"total\":42}"
        let waves = 50, perWave = 20
        let frame = SharedFrame(text: "[" + event + "]", mergeableJSONArray: true)
        let start = ContinuousClock.now
        for _ in 0..<waves {
            loop.post {
                for _ in 0..<perWave {
                    for session in handler.sessions.values { session.send(frame) }
                }
            }
        }
        let expectedPayload = waves * perWave * (event.utf8.count + 1) * clients
        XCTAssertTrue(counter.bytes.wait(timeout: 120) { $0 >= expectedPayload })
        let elapsed = ContinuousClock.now - start
        print("fan-out: \(clients) clients × \(waves * perWave) events in \(elapsed); "
              + "\(counter.messages.value) WebSocket messages (merging \(merge)), \(counter.bytes.value / 1024) KiB")
    }
}
