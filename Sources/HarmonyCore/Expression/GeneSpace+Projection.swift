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
// up to 32 of the cell's PCs held in SIMD registers for one sweep over its entries (each PC's sum is a chain of
// dependent adds, so one sweep per few PCs would wait on the adds' latency instead).

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
        let base = present.map {
            ProjectionTables.base(scaling: tables.scaling, loadings: loadings, offset: projectionOffset, present: $0)
        } ?? tables.base
        var out = Matrix<Float>(rows: n, cols: d)
        var longest = 0
        for i in 0..<n { longest = max(longest, rows.rowStarts[i + 1] - rows.rowStarts[i]) }
        let cell = ProjectionScratch(entries: longest, stride: tables.stride)
        try rows.rowStarts.withUnsafeBufferPointer { starts in
            try rows.columns.withUnsafeBufferPointer { columns in
                try rows.values.withUnsafeBufferPointer { values in
                    try tables.scaling.withUnsafeBufferPointer { scaling in
                        try tables.loadings.withUnsafeBufferPointer { u in
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

/// What every projection reads, derived from a gene space's statistics and loadings when it is made.
struct ProjectionTables: Sendable, Equatable {
    /// Per gene (mean, 1 / sd, c_g = clip(-mean / sd), 0): one load for each stored entry.
    let scaling: [SIMD4<Double>]
    /// The loadings with each row padded by zeros to `stride` values, so a cell's sweep loads whole SIMD registers.
    let loadings: [Double]
    /// Row length of `loadings`: the dimension rounded up to a multiple of 8.
    let stride: Int
    /// sum_g c_g U_g - offset over every gene: the projection of a cell without counts when all genes are present.
    let base: [Double]

    init(means: [Double], standardDeviations: [Double], loadings u: Matrix<Double>, clip: Double, offset: [Double]) {
        let g = u.rows, d = u.cols
        let scaling = (0..<g).map { k in
            let inverse = 1 / standardDeviations[k]
            return SIMD4(means[k], inverse, min(clip, max(-clip, -means[k] * inverse)), 0)
        }
        let stride = (d + 7) / 8 * 8
        var padded = [Double](repeating: 0, count: g * stride)
        for k in 0..<g { for j in 0..<d { padded[k * stride + j] = u.values[k * d + j] } }
        self.scaling = scaling
        self.stride = stride
        loadings = padded
        base = Self.base(scaling: scaling, loadings: u, offset: offset, present: nil)
    }

    /// -offset + sum_g c_g U_g over the genes `present` (nil: all), summed in gene order.
    static func base(scaling: [SIMD4<Double>], loadings u: Matrix<Double>, offset: [Double], present: [Bool]?) -> [Double] {
        let d = u.cols
        var base = offset.map { -$0 }
        for k in 0..<u.rows where present?[k] ?? true {
            for j in 0..<d { base[j] += scaling[k][2] * u.values[k * d + j] }
        }
        return base
    }
}

/// The scratch of `GeneSpace.project` for one cell, reused from cell to cell. Its buffers are allocated once and
/// read through raw pointers: the loops touch every stored value, and Swift arrays would add a bounds and a
/// uniqueness check to each access.
private final class ProjectionScratch {
    /// Row length of the padded loadings (`ProjectionTables.stride`).
    let stride: Int
    // Per stored entry of the cell: z - c_g, and where the gene's loadings row starts.
    let deltas: UnsafeMutablePointer<Double>
    let offsets: UnsafeMutablePointer<Int>
    /// The cell's PCs (`stride` values; those past the dimension are padding).
    let sums: UnsafeMutablePointer<Double>
    // ln1p values of the cell's small counts.
    let cache: UnsafeMutablePointer<Double>

    init(entries: Int, stride: Int) {
        self.stride = stride
        deltas = .allocate(capacity: max(1, entries))
        offsets = .allocate(capacity: max(1, entries))
        sums = .allocate(capacity: stride)
        sums.initialize(repeating: 0, count: stride)
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
        let cacheable = normalization.expectsCounts, small = Float(GeneSpace.cachedCounts), stride = self.stride
        if cacheable {
            // The distinct small counts of the cell first, then their normalized values, so the pass below reads
            // them without a branch on whether each was computed.
            var seen: UInt32 = 0
            for e in entries {
                let x = values[e]
                if x >= 0, x < small { seen |= 1 << UInt32(Int(x)) }
            }
            while seen != 0 {
                let c = seen.trailingZeroBitCount
                cache[c] = normalization.value(Float(c), total: total)
                seen &= seen - 1
            }
        }
        var problems = 0
        for e in entries {
            let k = Int(columns[e]), x = values[e]
            if checks { problems &+= normalization.accepts(x) ? 0 : 1 }
            // A small value that is not an integer is an error (counted above); its value here does not matter.
            let v = cacheable && x >= 0 && x < small ? cache[Int(x)] : normalization.value(x, total: total)
            let gene = scaling[k]
            let z = min(clip, max(-clip, (v - gene[0]) * gene[1]))
            deltas[e - entries.lowerBound] = z - gene[2]
            offsets[e - entries.lowerBound] = k * stride
        }
        if let present {
            present.withUnsafeBufferPointer { flags in
                for e in entries { problems &+= flags[Int(columns[e])] ? 0 : 1 }
            }
        }
        return problems == 0
    }

    /// sums[j] += sum_e deltas[e] * loadings[offsets[e] + j] for every padded column j, in entry order for each
    /// column (a multiply then an add, as a scalar loop would do: the same bits whatever the columns' grouping).
    /// One sweep over the entries per 32 columns.
    func accumulate(_ entries: Int, loadings: UnsafePointer<Double>) {
        var j = 0
        while stride - j >= 32 {
            accumulate(SIMD16<Double>.self, SIMD16<Double>.self, column: j, entries: entries, loadings: loadings)
            j += 32
        }
        switch stride - j {
        case 24: accumulate(SIMD16<Double>.self, SIMD8<Double>.self, column: j, entries: entries, loadings: loadings)
        case 16: accumulate(SIMD8<Double>.self, SIMD8<Double>.self, column: j, entries: entries, loadings: loadings)
        case 8: accumulate(SIMD4<Double>.self, SIMD4<Double>.self, column: j, entries: entries, loadings: loadings)
        default: break
        }
    }

    // Columns j ..< j + V.scalarCount + W.scalarCount, in registers for the whole sweep.
    @inline(__always)
    private func accumulate<V: SIMD, W: SIMD>(_: V.Type, _: W.Type, column j: Int, entries: Int,
                                              loadings: UnsafePointer<Double>)
    where V.Scalar == Double, W.Scalar == Double {
        let w = V.scalarCount
        var s = UnsafeRawPointer(sums + j).loadUnaligned(as: V.self)
        var t = UnsafeRawPointer(sums + j + w).loadUnaligned(as: W.self)
        for e in 0..<entries {
            let delta = deltas[e], row = loadings + offsets[e] + j
            s += V(repeating: delta) * UnsafeRawPointer(row).loadUnaligned(as: V.self)
            t += W(repeating: delta) * UnsafeRawPointer(row + w).loadUnaligned(as: W.self)
        }
        UnsafeMutableRawPointer(sums + j).storeBytes(of: s, as: V.self)
        UnsafeMutableRawPointer(sums + j + w).storeBytes(of: t, as: W.self)
    }
}
