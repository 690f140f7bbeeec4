/// How much of the LISTEN socket one loop turn takes. libpq reads at most its input buffer
/// (16 KiB) per `PQconsumeInput`; one read per readable turn capped the hub's intake at
/// 16 KiB per pass over its clients, so at full rate the notifications queued in the
/// kernel and in PostgreSQL and every client fell hundreds of ms behind (BENCHMARKS.md, S3).
/// A turn reads again while the socket has bytes waiting, up to `maxBytes` of payloads and
/// `maxReads` reads, so one turn's wave (and so one frame) stays bounded and a flood cannot
/// keep the loop from its clients.
public struct ListenDrain: Sendable, Equatable {
    /// Payload bytes after which the turn stops reading (its wave is at most about this).
    public let maxBytes: Int
    /// Reads after which the turn stops, whatever they carried.
    public let maxReads: Int
    public private(set) var bytes = 0
    public private(set) var reads = 0

    public init(maxBytes: Int, maxReads: Int = 64) {
        self.maxBytes = max(1, maxBytes)
        self.maxReads = max(1, maxReads)
    }

    /// The drain for a hub whose frames are at most `maxFrameBytes`: half of it, so a
    /// turn's wave (its payloads, plus at most one more read) stays under the frame limit
    /// at the default limit of 256 KiB.
    public static func forFrames(of maxFrameBytes: Int) -> ListenDrain {
        ListenDrain(maxBytes: maxFrameBytes / 2)
    }

    /// One read took notifications carrying `payloadBytes`.
    public mutating func took(payloadBytes: Int) {
        bytes += max(0, payloadBytes)
        reads += 1
    }

    /// Whether to read again when the socket holds `unreadBytes`.
    public func readsAgain(unreadBytes: Int) -> Bool {
        unreadBytes > 0 && bytes < maxBytes && reads < maxReads
    }
}
