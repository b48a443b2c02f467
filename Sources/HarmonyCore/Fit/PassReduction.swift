// Adding the per-task partial sums of an assignment pass into the pass totals, in parallel.
//
// Each task of a pass leaves Float sums per (next-round block j, level b) in its own slot (blocks x B x Kp).
// The totals are accumulated in Double per (j, b, k) over tasks in task order (one worker per block j, so the
// order never depends on the thread count), then added to the pending sums of the next round, and summed over
// j (in j order, one worker per level b) into the per-level totals of the pass. With many levels (64 levels x
// 20 blocks x K = 128k sums per task) a serial reduction on one thread was a large part of a round.

/// The reduction of one pass's partial sums.
enum PassReduction {
    /// contribution[j, b, k] += sum over tasks w of partial[w, j, b, k] (Kp-padded rows, the padding ignored).
    static func addTasks(_ partial: UnsafePointer<Float>, tasks: Int, taskSlot: Int, blocks: Int, levels nb: Int,
                         clusters kc: Int, padded kp: Int, into contribution: UnsafeMutablePointer<Double>,
                         runner: TaskRunner) {
        runner.run(blocks) { j in
            for w in 0..<tasks {
                for b in 0..<nb {
                    let src = partial + w * taskSlot + (j * nb + b) * kp
                    let dst = contribution + (j * nb + b) * kc
                    for k in 0..<kc { dst[k] += Double(src[k]) }
                }
            }
        }
    }

    /// pending[j] += contribution[j] for every block j, and levels[b, k] = sum over j of contribution[j, b, k].
    static func finish(_ contribution: UnsafePointer<Double>, blocks: Int, levels nb: Int, clusters kc: Int,
                       pending: UnsafeMutablePointer<Double>, levelTotals: UnsafeMutablePointer<Double>,
                       runner: TaskRunner) {
        let slice = nb * kc
        runner.run(blocks) { j in
            let src = contribution + j * slice, dst = pending + j * slice
            for x in 0..<slice { dst[x] += src[x] }
        }
        runner.run(nb) { b in
            let dst = levelTotals + b * kc
            for k in 0..<kc { dst[k] = 0 }
            for j in 0..<blocks {
                let src = contribution + j * slice + b * kc
                for k in 0..<kc { dst[k] += src[k] }
            }
        }
    }
}
