// Request latencies (microseconds) in a log-linear histogram: 16 sub-buckets per power of two, so every
// percentile is exact to within 1/16 of its value, with constant memory and O(1) recording.
// Thread contract: loop thread only.

/// Latency percentiles over every request served.
struct LatencyRecorder {
    private static let subBuckets = 16
    private var counts = [UInt64](repeating: 0, count: 64 * LatencyRecorder.subBuckets)
    /// Requests recorded.
    private(set) var total: UInt64 = 0

    /// Records one latency.
    mutating func record(microseconds: UInt64) {
        counts[LatencyRecorder.bucket(of: microseconds)] += 1
        total += 1
    }

    /// The smallest bucket upper bound below which at least `fraction` of the recorded latencies fall; 0 if none.
    func percentile(_ fraction: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let target = UInt64((Double(total) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (bucket, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= max(target, 1) { return LatencyRecorder.upperBound(of: bucket) }
        }
        return LatencyRecorder.upperBound(of: counts.count - 1)
    }

    // Values below 16 get a bucket each; above, bucket = 16 * (exponent - 3) + the next four bits.
    static func bucket(of value: UInt64) -> Int {
        if value < UInt64(subBuckets) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let mantissa = Int((value >> UInt64(exponent - 4)) & 15)
        return min(subBuckets * (exponent - 3) + mantissa, 64 * subBuckets - 1)
    }

    static func upperBound(of bucket: Int) -> UInt64 {
        if bucket < subBuckets { return UInt64(bucket) }
        let exponent = bucket / subBuckets + 3
        let mantissa = UInt64(bucket % subBuckets)
        return ((16 + mantissa + 1) << UInt64(exponent - 4)) - 1
    }
}
