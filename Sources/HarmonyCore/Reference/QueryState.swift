// Streaming query mapping from per-(batch, cluster) sufficient statistics (ALGORITHM.md §5).
//
// For every new batch b (a batch label the reference does not know): n_kb = sum_{i in b} R_ik and
// s_kb = sum_{i in b} R_ik z_i (Double sums that do not depend on the chunking, see `BatchStatistics`). With the reference's
// N_k and C_k and ridge lambda, per cluster k (joint over all new batches, as Symphony's design does):
//   beta_k0 = (C_k + sum_b lambda s_kb / (n_kb + lambda)) / (N_k + sum_b lambda n_kb / (n_kb + lambda))
//   beta_kb = (s_kb - n_kb beta_k0) / (n_kb + lambda)
// New batches are coupled only through the shared intercept beta_k0: a new batch moves another batch's terms
// by a relative weight of at most lambda / N_k. Mapping every cell at once (`mapJointly`, lambda 1, sigma 0.1)
// is exactly Symphony's `mapQuery` with one-hot query batches. Cells of a level the reference knows use the
// reference's own beta_kb and do not enter the statistics.

/// Accumulated statistics of the query batches seen so far, and mapping with them.
public struct QueryState: Sendable {
    /// The mapper (model and options).
    public let mapper: QueryMapper
    /// The query metadata column holding batch labels; labels of the reference covariate of that name
    /// are known levels.
    public let batchKey: String
    /// Labels of the new batches, in order of first arrival.
    public private(set) var newBatches: [String] = []
    /// Per new batch, n_kb (K values).
    public var batchMass: [[Double]] { statistics.map(\.mass) }
    /// Per new batch, s_kb (K x d, row-major).
    public var batchSums: [[Double]] { statistics.map(\.sums) }
    /// Per new batch, the number of cells accumulated.
    public var batchCellCounts: [Int] { statistics.map(\.cells) }
    // Per new batch, its statistics, and its terms beta_kb as Float for the correction GEMM (rebuilt whenever
    // statistics change: every batch's terms depend on all of them through the shared intercept).
    private var statistics: [BatchStatistics] = []
    private var batchTerms: [Matrix<Float>] = []
    private var batchIndex: [String: Int] = [:]

    /// An empty state for mapping onto `mapper.model`.
    public init(mapper: QueryMapper, batchKey: String) {
        self.mapper = mapper
        self.batchKey = batchKey
    }

    /// Adds a chunk of cells (n x d, one batch label per cell) to the statistics and returns the chunk mapped
    /// with the updated statistics.
    public mutating func add(cells: Matrix<Float>, batches: [String]) throws -> MappedCells {
        try mapper.check(cells)
        try checkLabels(batches, cells: cells.rows)
        let r = mapper.assignments(of: cells)
        let labels = Self.group(batches)
        accumulate(cells, assignments: r.r, labels: labels)
        return correct(cells, assignments: r, labels: labels)
    }

    /// Adds a chunk of one batch; see `add(cells:batches:)`.
    public mutating func add(cells: Matrix<Float>, batch: String) throws -> MappedCells {
        try add(cells: cells, batches: [String](repeating: batch, count: cells.rows))
    }

    /// Maps cells with the current statistics without adding them (re-correction of earlier cells).
    /// Cells of a new batch never seen get no batch correction.
    public func correct(cells: Matrix<Float>, batches: [String]) throws -> MappedCells {
        try mapper.check(cells)
        try checkLabels(batches, cells: cells.rows)
        return correct(cells, assignments: mapper.assignments(of: cells), labels: Self.group(batches))
    }

    /// Cells per block in `mapJointly`: R of a block (K floats a cell) stays in cache between the soft
    /// assignment and its use. The statistics do not depend on the blocking (see `BatchStatistics`).
    static let jointBlock = 4_096

    /// Maps all cells at once (offline): accumulates every batch, then corrects every cell with the final
    /// statistics. With `QueryMappingOptions.symphony` this reproduces Symphony's `mapQuery`.
    /// Large queries run in fixed blocks: statistics block after block, then the corrections of all blocks in
    /// parallel (`threads` = 0: every core); the result does not depend on the thread count.
    public static func mapJointly(model: ReferenceModel, cells: Matrix<Float>, batches: [String], batchKey: String,
                                  options: QueryMappingOptions, threads: Int = 0) throws -> MappedCells {
        var state = QueryState(mapper: try QueryMapper(model: model, options: options), batchKey: batchKey)
        try state.mapper.check(cells)
        try state.checkLabels(batches, cells: cells.rows)
        let n = cells.rows, d = cells.cols, k = model.clusterCount
        if n <= jointBlock {
            let r = state.mapper.assignments(of: cells)
            let labels = group(batches)
            state.accumulate(cells, assignments: r.r, labels: labels)
            return state.correct(cells, assignments: r, labels: labels)
        }
        for start in stride(from: 0, to: n, by: jointBlock) {
            let end = min(n, start + jointBlock)
            let part = cells.selectingRows(start..<end)
            state.accumulate(part, assignments: state.mapper.assignments(of: part).r, labels: group(Array(batches[start..<end])))
        }
        var out = MappedCells(corrected: Matrix(rows: n, cols: d), topCluster: [Int32](repeating: 0, count: n),
                              topProbability: [Float](repeating: 0, count: n),
                              assignments: options.includeAssignments ? Matrix(rows: n, cols: k) : nil)
        var assignments = out.assignments?.values ?? []
        let final = state
        out.corrected.values.withUnsafeMutableBufferPointer { zb in
            out.topCluster.withUnsafeMutableBufferPointer { cb in
                out.topProbability.withUnsafeMutableBufferPointer { pb in
                    assignments.withUnsafeMutableBufferPointer { rb in
                        // Blocks write disjoint rows.
                        nonisolated(unsafe) let zb = zb, cb = cb, pb = pb, rb = rb
                        TaskRunner(requested: threads).runRanges(n, perTask: jointBlock) { _, start, end in
                            let part = cells.selectingRows(start..<end)
                            let r = final.mapper.assignments(of: part)
                            let mapped = final.correct(part, assignments: r, labels: group(Array(batches[start..<end])))
                            let m = end - start
                            mapped.corrected.values.withUnsafeBufferPointer {
                                (zb.baseAddress! + start * d).update(from: $0.baseAddress!, count: m * d)
                            }
                            mapped.topCluster.withUnsafeBufferPointer {
                                (cb.baseAddress! + start).update(from: $0.baseAddress!, count: m)
                            }
                            mapped.topProbability.withUnsafeBufferPointer {
                                (pb.baseAddress! + start).update(from: $0.baseAddress!, count: m)
                            }
                            if !rb.isEmpty {
                                r.r.values.withUnsafeBufferPointer {
                                    (rb.baseAddress! + start * k).update(from: $0.baseAddress!, count: m * k)
                                }
                            }
                        }
                    }
                }
            }
        }
        if options.includeAssignments { out.assignments = Matrix(rows: n, cols: k, values: assignments) }
        return out
    }

    /// The current terms: the shared intercept beta_k0 (K x d) and beta_kb (K x d) per new batch.
    public func terms() -> (intercept: Matrix<Double>, batches: [Matrix<Double>]) {
        let model = mapper.model
        let k = model.clusterCount, d = model.dimension, lambda = mapper.options.lambda
        var intercept = Matrix<Double>(rows: k, cols: d)
        var betas = [[Double]](repeating: [Double](repeating: 0, count: k * d), count: statistics.count)
        var numerator = [Double](repeating: 0, count: d)
        intercept.values.withUnsafeMutableBufferPointer { ib in
            model.clusterSums.values.withUnsafeBufferPointer { cs in
                for c in 0..<k {
                    var denominator = model.clusterMass[c]
                    for j in 0..<d { numerator[j] = cs[c * d + j] }
                    for stats in statistics {
                        let nb = stats.mass[c]
                        guard nb + lambda > 0 else { continue }
                        let w = lambda / (nb + lambda)
                        denominator += w * nb
                        stats.sums.withUnsafeBufferPointer { sb in
                            for j in 0..<d { numerator[j] += w * sb[c * d + j] }
                        }
                    }
                    guard denominator > 0 else { continue }  // no mass at all in cluster c: no correction from it
                    for j in 0..<d { ib[c * d + j] = numerator[j] / denominator }
                    for (b, stats) in statistics.enumerated() {
                        let nb = stats.mass[c]
                        guard nb > 0 else { continue }
                        let inv = 1 / (nb + lambda)
                        stats.sums.withUnsafeBufferPointer { sb in
                            betas[b].withUnsafeMutableBufferPointer { bb in
                                for j in 0..<d { bb[c * d + j] = (sb[c * d + j] - nb * ib[c * d + j]) * inv }
                            }
                        }
                    }
                }
            }
        }
        return (intercept, betas.map { Matrix(rows: k, cols: d, values: $0) })
    }

    // MARK: - Internals

    func checkLabels(_ batches: [String], cells: Int) throws {
        guard batches.count == cells else {
            throw HarmonyError.invalidInput("\(batches.count) batch labels for \(cells) query cells")
        }
        if let i = batches.firstIndex(where: { $0.isEmpty }) {
            throw HarmonyError.invalidInput("query cell \(i) has an empty batch label")
        }
    }

    // The distinct labels of a chunk (in order of appearance) and each cell's index into them. Runs of equal
    // labels (the usual one-batch chunk) cost one string comparison per cell, no hashing.
    static func group(_ batches: [String]) -> (distinct: [String], codes: [Int]) {
        var distinct: [String] = []
        var index: [String: Int] = [:]
        var codes = [Int](repeating: 0, count: batches.count)
        var last = -1
        for (i, label) in batches.enumerated() {
            if last >= 0 && label == distinct[last] { codes[i] = last; continue }
            if let known = index[label] {
                last = known
            } else {
                last = distinct.count
                index[label] = last
                distinct.append(label)
            }
            codes[i] = last
        }
        return (distinct, codes)
    }

    // Adds the chunk's cells of new batches to their statistics (see `BatchStatistics`), then rebuilds the terms.
    mutating func accumulate(_ cells: Matrix<Float>, assignments r: Matrix<Float>,
                             labels: (distinct: [String], codes: [Int])) {
        let k = mapper.model.clusterCount, d = cells.cols
        // Per distinct label: its new-batch index, or nil for a level the reference knows.
        let batchOf: [Int?] = labels.distinct.map { label in
            if mapper.model.globalLevel(covariate: batchKey, label: label) != nil { return nil }
            if let known = batchIndex[label] { return known }
            let b = newBatches.count
            batchIndex[label] = b
            newBatches.append(label)
            statistics.append(BatchStatistics(k: k, d: d))
            return b
        }
        guard batchOf.contains(where: { $0 != nil }) else { return }
        var members = [[Int]](repeating: [], count: labels.distinct.count)
        if labels.distinct.count == 1 {
            members[0] = Array(0..<cells.rows)
        } else {
            for (i, code) in labels.codes.enumerated() where batchOf[code] != nil { members[code].append(i) }
        }
        r.values.withUnsafeBufferPointer { rb in
            cells.values.withUnsafeBufferPointer { zb in
                for (code, rows) in members.enumerated() where !rows.isEmpty {
                    statistics[batchOf[code]!].add(rows: rows, r: rb, z: zb)
                }
            }
        }
        batchTerms = terms().batches.map { $0.converted(to: Float.self) }
    }

    func correct(_ cells: Matrix<Float>, assignments r: QueryMapper.Assignments,
                 labels: (distinct: [String], codes: [Int])) -> MappedCells {
        let k = mapper.model.clusterCount, d = cells.cols
        // Slot 0: no correction (a new batch not yet in the statistics); then known levels and new batches.
        var terms: [Matrix<Float>] = [Matrix<Float>(rows: k, cols: d)]
        let slotOf: [Int] = labels.distinct.map { label in
            if let level = mapper.model.globalLevel(covariate: batchKey, label: label) {
                terms.append(mapper.levelTerms[level])
                return terms.count - 1
            }
            guard let b = batchIndex[label] else { return 0 }
            terms.append(batchTerms[b])
            return terms.count - 1
        }
        return mapper.correct(cells, assignments: r, slots: labels.codes.map { slotOf[$0] }, terms: terms)
    }
}
