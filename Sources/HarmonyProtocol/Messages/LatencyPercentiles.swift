/// Request latency percentiles in microseconds, as reported by STATS (4 x u64 on the wire).
public struct LatencyPercentiles: Equatable, Sendable {
    /// Median latency.
    public var p50: UInt64
    /// 90th percentile.
    public var p90: UInt64
    /// 99th percentile.
    public var p99: UInt64
    /// 99.9th percentile.
    public var p999: UInt64

    /// Percentiles from their values in microseconds.
    public init(p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
    }
}
