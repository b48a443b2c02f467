/// Counts of values in equal-width bins over their finite range.
struct Histogram {
    /// Left edge of the first bin.
    let low: Double
    /// Right edge of the last bin.
    let high: Double
    /// Values per bin.
    let counts: [Int]

    init(values: [Double], bins: Int) {
        let finite = values.filter(\.isFinite)
        let lo = finite.min() ?? 0, hi = finite.max() ?? 1
        let span = hi > lo ? hi - lo : 1
        var counts = [Int](repeating: 0, count: max(1, bins))
        for v in finite {
            counts[min(counts.count - 1, Int((v - lo) / span * Double(counts.count)))] += 1
        }
        low = lo
        high = lo + span
        self.counts = counts
    }
}
