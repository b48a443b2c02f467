// Stochastic gradient descent of UMAP's cross-entropy between the fuzzy graph and the 2-D layout
// (McInnes et al. 2018, section 4; the schedule of umap-learn's `optimize_layout_euclidean`).
//
// An edge of weight w is sampled every max_w / w epochs (edges below max_w / epochs are dropped, they would
// never be sampled). A sample pulls head and tail together with the gradient of log(1 / (1 + a d^(2b))):
//   coefficient -2 a b d^(2(b-1)) / (1 + a d^(2b)),  d^2 the squared distance,
// and pushes the head away from `negativeSampleRate` uniformly drawn points per sample with
//   coefficient 2 gamma b / ((0.001 + d^2)(1 + a d^(2b))).
// Each gradient component is clipped to [-4, 4]; a negative sample that coincides with the head exerts no
// force (the direction is undefined). The step decays
// linearly from the learning rate to 0 over the epochs.
//
// Precision: positions are Float (2-D coordinates of order 10, as umap-learn's float32), sums are per edge.
// d^(2b) is exp(b ln d^2) with FastMath's polynomial exp and log (relative error about 1e-6, far below the
// noise of the sampling; cheaper than powf in this loop, not measured separately).
// Determinism: one thread, edges in a fixed order, one SeededGenerator stream for the negative samples, so a
// seed gives the same bits. Parallel "Hogwild" updates would make the result depend on thread timing.

#if canImport(Glibc)
import Glibc
#endif

/// The SGD stage of UMAP over a 2-D layout.
struct LayoutOptimizer {
    let graph: FuzzyGraph
    let curve: UMAPCurve
    let epochs: Int
    let learningRate: Float
    let negativeSampleRate: Int
    let repulsion: Float

    /// Optimises `heads` (vertexCount x 2, row-major) in place. Tails and negative samples index `tails`
    /// (`tailCount` x 2): the same buffer as `heads` for a layout of its own (then tails move too), or a fixed
    /// reference layout when placing new points.
    func run(heads: UnsafeMutablePointer<Float>, tails: UnsafeMutablePointer<Float>, tailCount: Int,
             moveTails: Bool, generator: inout SeededGenerator) {
        let maxWeight = graph.weights.max() ?? 0
        guard maxWeight > 0, tailCount > 0 else { return }
        let floor = maxWeight / Float(epochs)
        var edgeHead: [Int32] = [], edgeTail: [Int32] = [], period: [Float] = []
        for e in graph.weights.indices where graph.weights[e] >= floor {
            edgeHead.append(graph.heads[e]); edgeTail.append(graph.tails[e])
            period.append(maxWeight / graph.weights[e])
        }
        let negativeRate = Float(negativeSampleRate)
        var nextSample = period
        var negativePeriod = period.map { negativeRate > 0 ? $0 / negativeRate : .infinity }
        var nextNegative = negativePeriod
        let a = Float(curve.a), b = Float(curve.b)
        let gamma = repulsion
        edgeHead.withUnsafeBufferPointer { eh in
        edgeTail.withUnsafeBufferPointer { et in
        period.withUnsafeBufferPointer { per in
        nextSample.withUnsafeMutableBufferPointer { next in
        negativePeriod.withUnsafeMutableBufferPointer { negPer in
        nextNegative.withUnsafeMutableBufferPointer { nextNeg in
            for epoch in 0..<epochs {
                let n = Float(epoch)
                let alpha = learningRate * (1 - n / Float(epochs))
                for e in 0..<eh.count where next[e] <= n {
                    let h = heads + 2 * Int(eh[e]), t = tails + 2 * Int(et[e])
                    let dx = h[0] - t[0], dy = h[1] - t[1]
                    let d2 = dx * dx + dy * dy
                    if d2 > 0 {
                        let p = power(d2, b)
                        let coefficient = -2 * a * b * (p / d2) / (a * p + 1)
                        let gx = clip(coefficient * dx) * alpha, gy = clip(coefficient * dy) * alpha
                        h[0] += gx; h[1] += gy
                        if moveTails { t[0] -= gx; t[1] -= gy }
                    }
                    next[e] += per[e]
                    let negatives = Int((n - nextNeg[e]) / negPer[e])
                    for _ in 0..<max(0, negatives) {
                        let other = generator.below(tailCount)
                        let o = tails + 2 * other
                        if moveTails && o == h { continue }
                        let ox = h[0] - o[0], oy = h[1] - o[1]
                        let o2 = ox * ox + oy * oy
                        guard o2 > 0 else { continue }
                        let coefficient = 2 * gamma * b / ((0.001 + o2) * (a * power(o2, b) + 1))
                        h[0] += clip(coefficient * ox) * alpha; h[1] += clip(coefficient * oy) * alpha
                    }
                    nextNeg[e] += Float(max(0, negatives)) * negPer[e]
                }
            }
        }}}}}}
    }

    /// x^b for x > 0 (denormal x is raised to the smallest normal, where FastMath.log is exact enough).
    @inline(__always)
    private func power(_ x: Float, _ b: Float) -> Float {
        FastMath.exp(b * FastMath.log(max(x, .leastNormalMagnitude)))
    }

    @inline(__always)
    private func clip(_ x: Float) -> Float {
        x > 4 ? 4 : (x < -4 ? -4 : x)
    }
}
