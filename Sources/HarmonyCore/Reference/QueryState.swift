// Streaming query mapping from per-(batch, cluster) sufficient statistics (Protocols/algorithm.md §5.3).
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
        let assigned = mapper.assignments(of: cells)
        let labels = Self.group(batches)
        accumulate(cells, assignments: assigned.r, labels: labels)
        return correct(cells, assignments: assigned, labels: labels)
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
            let assigned = state.mapper.assignments(of: cells)
            let labels = group(batches)
            state.accumulate(cells, assignments: assigned.r, labels: labels)
            return state.correct(cells, assignments: assigned, labels: labels)
        }
        for start in stride(from: 0, to: n, by: jointBlock) {
            let end = min(n, start + jointBlock)
            let part = cells.selectingRows(start..<end)
            state.accumulate(part, assignments: state.mapper.assignments(of: part).r,
                             labels: group(Array(batches[start..<end])))
        }
        var out = MappedCells(corrected: Matrix(rows: n, cols: d), topCluster: [Int32](repeating: 0, count: n),
                              topProbability: [Float](repeating: 0, count: n),
                              assignments: options.includeAssignments ? Matrix(rows: n, cols: k) : nil,
                              mappingDistance: options.includeMappingDistance ? [Double](repeating: 0, count: n) : nil)
        var assignments = out.assignments?.values ?? []
        var distances = out.mappingDistance ?? []
        let final = state
        out.corrected.values.withUnsafeMutableBufferPointer { zb in
            out.topCluster.withUnsafeMutableBufferPointer { cb in
                out.topProbability.withUnsafeMutableBufferPointer { pb in
                    assignments.withUnsafeMutableBufferPointer { rb in
                      distances.withUnsafeMutableBufferPointer { mb in
                        // Blocks write disjoint rows.
                        TaskRunner(requested: threads).runRanges(n, perTask: jointBlock) { _, start, end in
                            let part = cells.selectingRows(start..<end)
                            let assigned = final.mapper.assignments(of: part)
                            let mapped = final.correct(part, assignments: assigned,
                                                       labels: group(Array(batches[start..<end])))
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
                                assigned.r.values.withUnsafeBufferPointer {
                                    (rb.baseAddress! + start * k).update(from: $0.baseAddress!, count: m * k)
                                }
                            }
                            if let part = mapped.mappingDistance {
                                part.withUnsafeBufferPointer { (mb.baseAddress! + start).update(from: $0.baseAddress!, count: m) }
                            }
                        }
                      }
                    }
                }
            }
        }
        if options.includeAssignments { out.assignments = Matrix(rows: n, cols: k, values: assignments) }
        if options.includeMappingDistance { out.mappingDistance = distances }
        return out
    }

    /// The current terms: the shared intercept beta_k0 (K x d) and beta_kb (K x d) per new batch.
    public func terms() -> (intercept: Matrix<Double>, batches: [Matrix<Double>]) {
        let k = mapper.model.clusterCount, d = mapper.model.dimension
        var intercept = Matrix<Double>(rows: k, cols: d)
        intercept.values.withUnsafeMutableBufferPointer { writeIntercept(into: $0.baseAddress!) }
        let betas = statistics.indices.map { b -> Matrix<Double> in
            var beta = Matrix<Double>(rows: k, cols: d)
            intercept.values.withUnsafeBufferPointer { ib in
                beta.values.withUnsafeMutableBufferPointer { writeTerms(ofBatch: b, intercept: ib.baseAddress!, into: $0.baseAddress!) }
            }
            return beta
        }
        return (intercept, betas)
    }

    // beta_k0 (K x d) into `intercept`. Per entry the sum runs C_k, then the batches in order of arrival; a
    // cluster without any mass gets a zero row (no correction from it).
    private func writeIntercept(into intercept: UnsafeMutablePointer<Double>) {
        let model = mapper.model
        let k = model.clusterCount, d = model.dimension, lambda = mapper.options.lambda
        let denominator = UnsafeMutablePointer<Double>.allocate(capacity: k)
        defer { denominator.deallocate() }
        model.clusterMass.withUnsafeBufferPointer { denominator.initialize(from: $0.baseAddress!, count: k) }
        model.clusterSums.values.withUnsafeBufferPointer { intercept.update(from: $0.baseAddress!, count: k * d) }
        statistics.withUnsafeBufferPointer { all in
            for stats in all {
                stats.mass.withUnsafeBufferPointer { mb in
                    stats.sums.withUnsafeBufferPointer { sb in
                        for c in 0..<k {
                            let nb = mb[c]
                            guard nb + lambda > 0 else { continue }
                            let w = lambda / (nb + lambda)
                            denominator[c] += w * nb
                            let row = intercept + c &* d, sums = sb.baseAddress! + c &* d
                            for j in 0..<d { row[j] += w * sums[j] }
                        }
                    }
                }
            }
        }
        for c in 0..<k {
            let row = intercept + c &* d, den = denominator[c]
            if den > 0 {
                let inv = 1 / den
                for j in 0..<d { row[j] *= inv }
            } else {
                row.update(repeating: 0, count: d)
            }
        }
    }

    // beta_kb = (s_kb - n_kb beta_k0) / (n_kb + lambda) (K x d) of new batch `b` into `out`; zero where n_kb = 0.
    @inline(__always)
    private func writeTerms<T: BinaryFloatingPoint>(ofBatch b: Int, intercept: UnsafePointer<Double>,
                                                   into out: UnsafeMutablePointer<T>) {
        let k = mapper.model.clusterCount, d = mapper.model.dimension, lambda = mapper.options.lambda
        let stats = statistics[b]
        stats.mass.withUnsafeBufferPointer { mb in
            stats.sums.withUnsafeBufferPointer { sb in
                for c in 0..<k {
                    let nb = mb[c], row = out + c &* d
                    guard nb > 0 else {
                        row.update(repeating: 0, count: d)
                        continue
                    }
                    let inv = 1 / (nb + lambda)
                    let sums = sb.baseAddress! + c &* d, base = intercept + c &* d
                    for j in 0..<d { row[j] = T((sums[j] - nb * base[j]) * inv) }
                }
            }
        }
    }

    // Rebuilds the Float terms of every new batch in place after the statistics changed.
    private mutating func rebuildBatchTerms() {
        let k = mapper.model.clusterCount, d = mapper.model.dimension
        var intercept = [Double](unsafeUninitializedCapacity: k * d) { _, count in count = k * d }
        intercept.withUnsafeMutableBufferPointer { writeIntercept(into: $0.baseAddress!) }
        // Moved out (not copied) so the buffers stay uniquely referenced and are overwritten in place.
        var terms = batchTerms
        batchTerms = []
        while terms.count < statistics.count { terms.append(Matrix(rows: k, cols: d)) }
        intercept.withUnsafeBufferPointer { ib in
            for b in statistics.indices {
                terms[b].values.withUnsafeMutableBufferPointer {
                    writeTerms(ofBatch: b, intercept: ib.baseAddress!, into: $0.baseAddress!)
                }
            }
        }
        batchTerms = terms
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
        rebuildBatchTerms()
    }

    func correct(_ cells: Matrix<Float>, assignments: QueryMapper.Assignments,
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
        return mapper.correct(cells, assignments: assignments, slots: labels.codes.map { slotOf[$0] }, terms: terms)
    }
}
