// Projection of cells into a reference's PC space (Symphony's mapQuery step 1):
//   v_g = normalized value (see ExpressionNormalization), z_g = clip((v_g - mean_g) * (1 / sd_g), -clip, clip),
//   pc = sum_g z_g U_g - offset.
// A cell's zeros all scale to c_g = clip(-mean_g / sd_g), so pc = base + sum over its stored entries of
// (z_g - c_g) U_g, with base = sum_{g present} c_g U_g - offset computed once per call.
// Absent genes (present[g] == false: the query does not measure them) stand at the reference mean, scaled value 0,
// and contribute nothing, as in Symphony. Double accumulation, Float output like every embedding.
// Counts are mostly small integers, so within one cell ln(1 + targetSum x / total) takes few distinct values: those
// of x < 32 are computed once per cell and reused (the same expression, so the same bits); ln1p was the largest
// cost of projecting a 10x cell.
// Per cell, the scalar work of all stored entries comes first, then the multiply-adds with the loadings rows, with
// the cell's PCs held in SIMD registers.

extension GeneSpace {
    /// The PCs of `rows` (cells over this gene space's genes, in its order) in the reference's space.
    /// - Parameters:
    ///   - rows: cells x `geneCount` raw values (counts, or log-normalized values for `.asGiven`).
    ///   - totals: each cell's library size over ALL of its genes (only read for `.logCounts`); nil uses the row sums
    ///     of `rows`, right only when `rows` holds every gene of the cells.
    ///   - present: which reference genes the query measures (geneCount flags); nil means all. A cell's stored
    ///     entry on an absent gene is an error.
    ///   - validated: the caller has checked every stored value already (acceptable for the normalization, and not
    ///     on an absent gene), as harmonyd's MAP_EXPRESSION validation does; the per-entry checks are skipped.
    /// - Returns: rows.rowCount x `dimension`.
    public func project(_ rows: SparseRows, totals: [Double]? = nil, present: [Bool]? = nil,
                        validated: Bool = false) throws -> Matrix<Float> {
        let g = geneCount, d = dimension, n = rows.rowCount
        func bad(_ m: String) -> HarmonyError { .invalidInput("projecting cells on the reference genes: \(m)") }
        guard rows.columnCount == g else { throw bad("the cells have \(rows.columnCount) genes, the reference \(g)") }
        if let totals, totals.count != n { throw bad("\(totals.count) library sizes for \(n) cells") }
        if let present, present.count != g { throw bad("\(present.count) presence flags for \(g) genes") }
        // Per gene (mean, 1 / sd, c_g, unused): one load for each stored entry.
        var scaling = [SIMD4<Double>](repeating: .zero, count: g)
        for k in 0..<g {
            let inverse = 1 / standardDeviations[k]
            scaling[k] = SIMD4(means[k], inverse, min(clip, max(-clip, -means[k] * inverse)), 0)
        }
        var base = projectionOffset.map { -$0 }
        for k in 0..<g where present?[k] ?? true {
            for j in 0..<d { base[j] += scaling[k][2] * loadings.values[k * d + j] }
        }
        var out = Matrix<Float>(rows: n, cols: d)
        var longest = 0
        for i in 0..<n { longest = max(longest, rows.rowStarts[i + 1] - rows.rowStarts[i]) }
        let cell = ProjectionScratch(entries: longest, dimension: d)
        try rows.rowStarts.withUnsafeBufferPointer { starts in
            try rows.columns.withUnsafeBufferPointer { columns in
                try rows.values.withUnsafeBufferPointer { values in
                    try scaling.withUnsafeBufferPointer { scaling in
                        try loadings.values.withUnsafeBufferPointer { u in
                            for i in 0..<n {
                                let entries = starts[i]..<starts[i + 1]
                                var total = 0.0
                                if let totals { total = totals[i] } else { for e in entries { total += Double(values[e]) } }
                                guard total.isFinite, total >= 0 else { throw bad("cell \(i) has the library size \(total)") }
                                if !cell.scale(entries, columns: columns, values: values, total: total,
                                               present: validated ? nil : present, checks: !validated,
                                               normalization: normalization, scaling: scaling, clip: clip) {
                                    try explainRejection(of: i, rows, present: present)
                                }
                                for j in 0..<d { cell.sums[j] = base[j] }
                                cell.accumulate(entries.count, loadings: u.baseAddress!)
                                for j in 0..<d { out.values[i * d + j] = Float(cell.sums[j]) }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    // Throws the error for the first unacceptable entry of cell i (one `ProjectionScratch.scale` rejected).
    private func explainRejection(of i: Int, _ rows: SparseRows, present: [Bool]?) throws {
        func bad(_ m: String) -> HarmonyError { .invalidInput("projecting cells on the reference genes: \(m)") }
        for e in rows.rowStarts[i]..<rows.rowStarts[i + 1] {
            let k = Int(rows.columns[e]), x = rows.values[e]
            if let problem = normalization.problem(with: x) { throw bad("cell \(i), gene \(genes[k].name): the value \(x) \(problem)") }
            if let present, !present[k] { throw bad("cell \(i) has a value for gene \(genes[k].name), marked absent") }
        }
    }

    /// Counts below this have their normalized value computed once per cell.
    static let cachedCounts = 32
}

/// The scratch of `GeneSpace.project` for one cell, reused from cell to cell. Its buffers are allocated once and
/// read through raw pointers: the loops touch every stored value, and Swift arrays would add a bounds and a
/// uniqueness check to each access.
private final class ProjectionScratch {
    let dimension: Int
    // Per stored entry of the cell: z - c_g, and where the gene's loadings row starts.
    let deltas: UnsafeMutablePointer<Double>
    let offsets: UnsafeMutablePointer<Int>
    /// The cell's PCs.
    let sums: UnsafeMutablePointer<Double>
    // ln1p values of the cell's small counts (NaN: not computed yet).
    let cache: UnsafeMutablePointer<Double>

    init(entries: Int, dimension: Int) {
        self.dimension = dimension
        deltas = .allocate(capacity: max(1, entries))
        offsets = .allocate(capacity: max(1, entries))
        sums = .allocate(capacity: dimension)
        cache = .allocate(capacity: GeneSpace.cachedCounts)
    }

    deinit {
        deltas.deallocate()
        offsets.deallocate()
        sums.deallocate()
        cache.deallocate()
    }

    /// The scalar work of every stored entry (independent from entry to entry, so it pipelines): normalized value,
    /// scaled and clipped, minus c_g. False when an entry is a value the normalization cannot take or sits on an
    /// absent gene; the problems are counted without branches, as the common case has none. Without `checks` (values
    /// validated by the caller) nothing is counted.
    func scale(_ entries: Range<Int>, columns: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Float>,
               total: Double, present: [Bool]?, checks: Bool, normalization: ExpressionNormalization,
               scaling: UnsafeBufferPointer<SIMD4<Double>>, clip: Double) -> Bool {
        let cacheable = normalization.expectsCounts, small = Float(GeneSpace.cachedCounts), d = dimension
        for c in 0..<GeneSpace.cachedCounts { cache[c] = .nan }
        var problems = 0
        for e in entries {
            let k = Int(columns[e]), x = values[e]
            if checks { problems &+= normalization.accepts(x) ? 0 : 1 }
            let v: Double
            if cacheable, x >= 0, x < small {
                let c = Int(x)
                if cache[c].isNaN { cache[c] = normalization.value(x, total: total) }
                v = cache[c]
            } else {
                v = normalization.value(x, total: total)
            }
            let gene = scaling[k]
            let z = min(clip, max(-clip, (v - gene[0]) * gene[1]))
            deltas[e - entries.lowerBound] = z - gene[2]
            offsets[e - entries.lowerBound] = k * d
        }
        if let present {
            present.withUnsafeBufferPointer { flags in
                for e in entries { problems &+= flags[Int(columns[e])] ? 0 : 1 }
            }
        }
        return problems == 0
    }

    /// sums[j] += sum_e deltas[e] * loadings[offsets[e] + j], in entry order for every column (a multiply then an
    /// add, as a scalar loop would do: the same bits). Columns go 16, 8, then 4 at a time in SIMD registers that stay
    /// there for the whole cell, the last few one by one.
    func accumulate(_ entries: Int, loadings: UnsafePointer<Double>) {
        let d = dimension
        var j = 0
        while d - j >= 16 {
            accumulate(SIMD16<Double>.self, column: j, entries: entries, loadings: loadings)
            j += 16
        }
        if d - j >= 8 {
            accumulate(SIMD8<Double>.self, column: j, entries: entries, loadings: loadings)
            j += 8
        }
        if d - j >= 4 {
            accumulate(SIMD4<Double>.self, column: j, entries: entries, loadings: loadings)
            j += 4
        }
        while j < d {
            var s = sums[j]
            for e in 0..<entries { s += deltas[e] * loadings[offsets[e] + j] }
            sums[j] = s
            j += 1
        }
    }

    @inline(__always)
    private func accumulate<V: SIMD>(_: V.Type, column j: Int, entries: Int, loadings: UnsafePointer<Double>)
    where V.Scalar == Double {
        var s = UnsafeRawPointer(sums + j).loadUnaligned(as: V.self)
        for e in 0..<entries {
            s += V(repeating: deltas[e]) * UnsafeRawPointer(loadings + offsets[e] + j).loadUnaligned(as: V.self)
        }
        UnsafeMutableRawPointer(sums + j).storeBytes(of: s, as: V.self)
    }
}
