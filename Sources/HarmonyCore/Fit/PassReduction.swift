// Adding the per-task partial sums of an assignment pass into the pass totals, in parallel.
//
// Each task of a pass leaves Float sums of its new R rows per (next-round block, level) pair that its cells
// touch, as a compact list of slots of its own (at most cells x covariates rows, Kp-padded, with the pair of
// each slot). They are added in Double, in task order and in each task's slot order, to the pending sums of
// the next round (one row per pair) and to the per-level totals of the pass. Workers split the clusters
// (16 at a time), so the order of the additions to any one sum never depends on the thread count, and nothing
// here grows with blocks x levels.

/// The reduction of one wave of a pass's partial sums.
enum PassReduction {
    /// Clusters per reduction worker.
    static let clusterChunk = 16

    /// For every task w < tasks and slot s < counts[w], with p = pairs[w * taskRows + s] and row
    /// x = partial[(w * taskRows + s) * Kp ...]: pending[p, k] += x[k] and levelTotals[pairLevel[p], k] += x[k].
    static func addTasks(_ partial: UnsafePointer<Float>, pairs: UnsafePointer<Int32>, counts: UnsafePointer<Int>,
                         tasks: Int, taskRows: Int, pairLevel: UnsafePointer<Int32>, clusters kc: Int,
                         padded kp: Int, pending: UnsafeMutablePointer<Double>,
                         levelTotals: UnsafeMutablePointer<Double>, runner: TaskRunner) {
        let chunks = (kc + clusterChunk - 1) / clusterChunk
        runner.run(chunks) { chunk in
            let k0 = chunk * clusterChunk, k1 = min(kc, k0 + clusterChunk)
            for w in 0..<tasks {
                for s in 0..<counts[w] {
                    let slot = w * taskRows + s
                    let p = Int(pairs[slot]), b = Int(pairLevel[p])
                    let src = partial + slot * kp, toPair = pending + p * kc, toLevel = levelTotals + b * kc
                    for k in k0..<k1 {
                        let x = Double(src[k])
                        toPair[k] += x
                        toLevel[k] += x
                    }
                }
            }
        }
    }
}
