// What STATS reports beyond the batch counts: requests served, refit outcomes, latency, uptime.
// Thread contract: loop thread only.

/// The server's counters.
struct ServerStatistics {
    /// When the server started (monotonic nanoseconds).
    let startedAt = EventLoop.now()
    /// Requests answered.
    var requestsServed: UInt64 = 0
    /// Refits that replaced the model.
    var refitsDone: UInt32 = 0
    /// Refits that failed (cancelled ones are not counted).
    var refitsFailed: UInt32 = 0
    /// Frame-read-to-reply-queued times of the requests answered.
    var latency = LatencyRecorder()
}
