// The cells of one process in a fit spread over several processes (the MPI fit, `harmony-mpi fit`).
//
// Each process ("rank") holds a contiguous range of the cells: their embedding rows, normalised rows and soft
// assignments. Everything the fit keeps per level or per cluster (O, E, centroids, the ridge statistics) is a
// sum over cells, so each rank sums its own cells exactly as the single process does (same tasks, same order)
// and the ranks' partial sums are then added in rank order (`CellShard.sum`), giving every rank the same bits.
// Ranges start at multiples of `TaskRunner.cellsPerTask`, so the tasks of passes in cell order (k-means start,
// Lloyd steps) are the single process's tasks; the k-means seed choice is then exactly the single process's.
// Per cell the ranks also keep what is small and needed globally: the covariate codes (FitDesign) and the
// permutation of every round (BlockSchedule), 4 bytes per cell each.
//
// With one rank every sum is the single process's: `CellShard.whole` is what `Harmony.fit` uses by default.

/// Exchanges the partial sums of a fit between the processes that share its cells.
public protocol FitCommunicator: AnyObject, Sendable {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Every rank's `values` (the same count on every rank), concatenated in rank order, on every rank.
    func allGather(_ values: [Double]) -> [Double]
}

/// The cells of a fit that this process holds, and how to combine sums with the other processes.
public struct CellShard: Sendable {
    /// Cells of the whole fit N.
    public let totalCells: Int
    /// Global index of this process's first cell.
    public let first: Int
    /// This process's cells.
    public let count: Int
    /// The other processes (nil: this process holds every cell).
    public let communicator: (any FitCommunicator)?

    /// The global indices of this process's cells.
    public var range: Range<Int> { first..<(first + count) }
    /// Whether other processes hold cells of the fit.
    public var isDistributed: Bool { (communicator?.size ?? 1) > 1 }

    /// All `cells` in this process.
    public static func whole(_ cells: Int) -> CellShard {
        CellShard(totalCells: cells, first: 0, count: cells, communicator: nil)
    }

    /// This rank's share of `cells` cells: consecutive runs of `TaskRunner.cellsPerTask` cells, as evenly as
    /// possible over the ranks of `communicator` (a rank may get none when there are fewer runs than ranks).
    public static func split(cells: Int, communicator: any FitCommunicator) -> CellShard {
        let range = rows(of: communicator.rank, ranks: communicator.size, cells: cells)
        return CellShard(totalCells: cells, first: range.lowerBound, count: range.count, communicator: communicator)
    }

    /// Cells per run: a shard is whole runs (the last run of the cells may be shorter).
    public static var runLength: Int { TaskRunner.cellsPerTask }

    /// Runs in `cells` cells: the most ranks that can each hold cells.
    public static func runs(cells: Int) -> Int { TaskRunner.taskCount(cells) }

    /// The rows of rank `rank` of `ranks` (see `split`).
    public static func rows(of rank: Int, ranks: Int, cells: Int) -> Range<Int> {
        let runs = TaskRunner.taskCount(cells)
        let from = runs * rank / ranks, to = runs * (rank + 1) / ranks
        return min(cells, from * TaskRunner.cellsPerTask)..<min(cells, to * TaskRunner.cellsPerTask)
    }

    /// Element-wise sums of `values` over the ranks, added in rank order (the same bits on every rank);
    /// nothing to do for a single process.
    func sum(_ values: inout [Double]) {
        guard let communicator, communicator.size > 1 else { return }
        let all = communicator.allGather(values), m = values.count
        for x in 0..<m {
            var total = 0.0
            for r in 0..<communicator.size { total += all[r * m + x] }
            values[x] = total
        }
    }

    /// Every rank's `values`, concatenated in rank order (a single process's own values alone).
    func gather(_ values: [Double]) -> [Double] {
        guard let communicator, communicator.size > 1 else { return values }
        return communicator.allGather(values)
    }

    /// Rows of cells held by one rank each (`rows[j]` is cell `cells[j]`'s, d values) on every rank: the holder
    /// passes a row's values, the others zeros, and the sum is exact.
    func shareRows(_ cells: [Int], dims d: Int, row: (Int) -> UnsafePointer<Float>) -> [Float] {
        var values = [Double](repeating: 0, count: cells.count * d)
        for (j, i) in cells.enumerated() where range.contains(i) {
            let source = row(i)
            for t in 0..<d { values[j * d + t] = Double(source[t]) }
        }
        sum(&values)
        return values.map { Float($0) }
    }
}
