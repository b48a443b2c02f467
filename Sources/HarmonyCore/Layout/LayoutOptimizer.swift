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
//
// Parallel and still deterministic. umap-learn's parallel mode lets threads update shared positions as they
// go ("Hogwild"), so its result depends on timing. Here an epoch cuts the vertices into fixed ranges of
// `verticesPerTask` heads (edges are grouped by head), independent of the thread count, and a task updates only
// the heads of its range, live, in edge order. Everything else it reads (tails, negative samples) comes from a
// snapshot of the layout taken at the start of the epoch, and its negative samples come from its own
// generator stream (seed, epoch, range). So no task sees another's writes, and the same seed gives the same
// bits on any number of threads.
// Where umap-learn moves both ends of a sampled edge, a task moves only the head: the graph lists every
// undirected edge in both directions with the same weight, hence the same sampling epochs, so each end gets
// its pull from its own copy of the edge. Each end receives two pulls per sample in umap-learn (one as head,
// one as tail), so a moving-tails layout applies the attraction twice. Placing new cells on a fixed layout
// moves heads only, as umap-learn's transform does, and applies it once.

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
    /// Threads (0: every core); the result does not depend on it.
    var threads: Int = 0

    /// Heads per task in an epoch: large enough to amortise a task's start, small enough to balance two cores.
    static let verticesPerTask = 1024

    /// Optimises `heads` (vertexCount x 2, row-major) in place. Tails and negative samples index `tails`
    /// (`tailCount` x 2): the same buffer as `heads` for a layout of its own (`moveTails`: the tails are the
    /// other heads), or a fixed reference layout when placing new points. `generator` seeds the per-task streams.
    func run(heads: UnsafeMutablePointer<Float>, tails: UnsafeMutablePointer<Float>, tailCount: Int,
             moveTails: Bool, generator: inout SeededGenerator) {
        let maxWeight = graph.weights.max() ?? 0
        guard maxWeight > 0, tailCount > 0 else { return }
        var schedule = EdgeSchedule(graph: graph, maxWeight: maxWeight, epochs: epochs,
                                    negativeRate: Float(negativeSampleRate))
        let seed = generator.next()
        let vertices = graph.vertexCount
        // The epoch's snapshot that tails and negative samples are read from when the tails move.
        let snapshot = UnsafeMutablePointer<Float>.allocate(capacity: moveTails ? 2 * tailCount : 0)
        defer { snapshot.deallocate() }
        let reads = moveTails ? UnsafePointer(snapshot) : UnsafePointer(tails)
        let runner = TaskRunner(requested: threads)
        let step = Step(a: Float(curve.a), b: Float(curve.b), gamma: repulsion, pull: moveTails ? 2 : 1)
        let start = schedule.start
        // Each task updates the edges of its own heads only.
        schedule.edges.withUnsafeMutableBufferPointer { edges in
            for epoch in 0..<epochs {
                if moveTails { snapshot.update(from: heads, count: 2 * tailCount) }
                let n = Float(epoch)
                let alpha = learningRate * (1 - n / Float(epochs))
                runner.runRanges(vertices, perTask: Self.verticesPerTask) { task, first, end in
                    var random = SeededGenerator(seed: seed, stream: UInt64(epoch) << 32 | UInt64(task))
                    for v in first..<end {
                        let h = heads + 2 * v
                        for e in start[v]..<start[v + 1] where edges[e].next <= n {
                            step.attract(h, reads + 2 * Int(edges[e].tail), alpha: alpha)
                            edges[e].next += edges[e].period
                            let negatives = max(0, Int((n - edges[e].nextNegative) / edges[e].negativePeriod))
                            for _ in 0..<negatives {
                                let other = random.below(tailCount)
                                // A layout's own point is no negative sample of itself.
                                if moveTails && other == v { continue }
                                step.repel(h, reads + 2 * other, alpha: alpha)
                            }
                            edges[e].nextNegative += Float(negatives) * edges[e].negativePeriod
                        }
                    }
                }
            }
        }
    }
}

/// The forces of one sample, as in the file header.
private struct Step {
    let a: Float, b: Float, gamma: Float
    /// Times the attraction is applied to the head (2 when the tails move, see the file header).
    let pull: Float

    /// Moves head `h` toward tail `t`.
    @inline(__always)
    func attract(_ h: UnsafeMutablePointer<Float>, _ t: UnsafePointer<Float>, alpha: Float) {
        let dx = h[0] - t[0], dy = h[1] - t[1]
        let d2 = dx * dx + dy * dy
        guard d2 > 0 else { return }
        let p = power(d2)
        let coefficient = -2 * a * b * (p / d2) / (a * p + 1)
        h[0] += pull * clip(coefficient * dx) * alpha
        h[1] += pull * clip(coefficient * dy) * alpha
    }

    /// Pushes head `h` away from the negative sample `o`.
    @inline(__always)
    func repel(_ h: UnsafeMutablePointer<Float>, _ o: UnsafePointer<Float>, alpha: Float) {
        let ox = h[0] - o[0], oy = h[1] - o[1]
        let o2 = ox * ox + oy * oy
        guard o2 > 0 else { return }
        let coefficient = 2 * gamma * b / ((0.001 + o2) * (a * power(o2) + 1))
        h[0] += clip(coefficient * ox) * alpha
        h[1] += clip(coefficient * oy) * alpha
    }

    /// x^b for x > 0 (denormal x is raised to the smallest normal, where FastMath.log is exact enough).
    @inline(__always)
    private func power(_ x: Float) -> Float {
        FastMath.exp(b * FastMath.log(max(x, .leastNormalMagnitude)))
    }

    @inline(__always)
    private func clip(_ x: Float) -> Float {
        x > 4 ? 4 : (x < -4 ? -4 : x)
    }
}

/// The sampled edges grouped by head (CSR), with when each is next sampled and next draws negative samples.
private struct EdgeSchedule {
    /// One sampled edge: its tail, sampling period, and the epochs of its next sample and next negative samples.
    struct Edge {
        let tail: Int32
        let period: Float
        var next: Float
        let negativePeriod: Float
        var nextNegative: Float
    }

    /// Edges of head v: start[v] ..< start[v + 1].
    let start: [Int]
    var edges: [Edge]

    /// Keeps the edges sampled at least once in `epochs` (weight >= maxWeight / epochs), in the graph's order.
    init(graph: FuzzyGraph, maxWeight: Float, epochs: Int, negativeRate: Float) {
        let floor = maxWeight / Float(epochs)
        var start = [Int](repeating: 0, count: graph.vertexCount + 1)
        var edges: [Edge] = []
        for e in graph.weights.indices where graph.weights[e] >= floor {
            start[Int(graph.heads[e]) + 1] += 1
            let period = maxWeight / graph.weights[e]
            let negativePeriod = negativeRate > 0 ? period / negativeRate : .infinity
            edges.append(Edge(tail: graph.tails[e], period: period, next: period, negativePeriod: negativePeriod,
                              nextNegative: negativePeriod))
        }
        for v in 0..<graph.vertexCount { start[v + 1] += start[v] }
        self.start = start
        self.edges = edges
    }
}
