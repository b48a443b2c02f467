// Projection of cells into a reference's PC space (Symphony's mapQuery step 1):
//   v_g = normalized value (see ExpressionNormalization), z_g = clip((v_g - mean_g) / sd_g, -clip, clip),
//   pc = sum_g z_g U_g - offset.
// A cell's zeros all scale to c_g = clip(-mean_g / sd_g), so pc = base + sum over its stored entries of
// (z_g - c_g) U_g, with base = sum_{g present} c_g U_g - offset computed once per call.
// Absent genes (present[g] == false: the query does not measure them) stand at the reference mean, scaled value 0,
// and contribute nothing, as in Symphony. Double accumulation, Float output like every embedding.
// Counts are mostly small integers, so within one cell ln(1 + targetSum x / total) takes few distinct values: those
// of x < 32 are computed once per cell and reused (the same expression, so the same bits); ln1p was the largest
// cost of projecting a 10x cell.

extension GeneSpace {
    /// The PCs of `rows` (cells over this gene space's genes, in its order) in the reference's space.
    /// - Parameters:
    ///   - rows: cells x `geneCount` raw values (counts, or log-normalized values for `.asGiven`).
    ///   - totals: each cell's library size over ALL of its genes (only read for `.logCounts`); nil uses the row sums
    ///     of `rows`, right only when `rows` holds every gene of the cells.
    ///   - present: which reference genes the query measures (geneCount flags); nil means all. A cell's stored
    ///     entry on an absent gene is an error.
    /// - Returns: rows.rowCount x `dimension`.
    public func project(_ rows: SparseRows, totals: [Double]? = nil, present: [Bool]? = nil) throws -> Matrix<Float> {
        let g = geneCount, d = dimension, n = rows.rowCount
        func bad(_ m: String) -> HarmonyError { .invalidInput("projecting cells on the reference genes: \(m)") }
        guard rows.columnCount == g else { throw bad("the cells have \(rows.columnCount) genes, the reference \(g)") }
        if let totals, totals.count != n { throw bad("\(totals.count) library sizes for \(n) cells") }
        if let present, present.count != g { throw bad("\(present.count) presence flags for \(g) genes") }
        var zero = [Double](repeating: 0, count: g)
        for k in 0..<g { zero[k] = min(clip, max(-clip, -means[k] / standardDeviations[k])) }
        var base = projectionOffset.map { -$0 }
        for k in 0..<g where present?[k] ?? true {
            for j in 0..<d { base[j] += zero[k] * loadings.values[k * d + j] }
        }
        var out = Matrix<Float>(rows: n, cols: d)
        var acc = [Double](repeating: 0, count: d)
        let cacheable = normalization.expectsCounts
        var normalized = [Double](repeating: .nan, count: Self.cachedCounts)
        // Through unsafe buffers: the per-entry loop over d then has no bounds checks and vectorizes (the same
        // operations in the same order as indexing would do).
        try loadings.values.withUnsafeBufferPointer { u in
            try acc.withUnsafeMutableBufferPointer { a in
                try out.values.withUnsafeMutableBufferPointer { o in
                    for i in 0..<n {
                        let lo = rows.rowStarts[i], hi = rows.rowStarts[i + 1]
                        var total = 0.0
                        if let totals { total = totals[i] } else { for e in lo..<hi { total += Double(rows.values[e]) } }
                        guard total.isFinite, total >= 0 else { throw bad("cell \(i) has the library size \(total)") }
                        for j in 0..<d { a[j] = base[j] }
                        if cacheable { for c in 0..<Self.cachedCounts { normalized[c] = .nan } }
                        for e in lo..<hi {
                            let k = Int(rows.columns[e]), x = rows.values[e]
                            if let problem = normalization.problem(with: x) { throw bad("cell \(i), gene \(genes[k].name): the value \(x) \(problem)") }
                            if let present, !present[k] { throw bad("cell \(i) has a value for gene \(genes[k].name), marked absent") }
                            let v: Double
                            if cacheable, x < Float(Self.cachedCounts) {
                                let c = Int(x)
                                if normalized[c].isNaN { normalized[c] = normalization.value(x, total: total) }
                                v = normalized[c]
                            } else {
                                v = normalization.value(x, total: total)
                            }
                            let z = min(clip, max(-clip, (v - means[k]) / standardDeviations[k]))
                            let delta = z - zero[k]
                            let row = u.baseAddress! + k * d
                            for j in 0..<d { a[j] += delta * row[j] }
                        }
                        for j in 0..<d { o[i * d + j] = Float(a[j]) }
                    }
                }
            }
        }
        return out
    }

    /// Counts below this have their normalized value computed once per cell.
    static let cachedCounts = 32
}
