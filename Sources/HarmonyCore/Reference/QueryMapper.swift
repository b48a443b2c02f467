// The stateless half of query mapping: soft assignment to the frozen centroids and the correction
//   z_i^corr = z_i - sum_k R_ik T_b[k]
// with a K x d term matrix T_b per batch (the reference's own beta_kb for a level it knows, or a new batch's
// terms from `QueryState`). The correction is one SGEMM (n_b x K)(K x d) per batch present in a chunk.

/// Maps query cells onto a `ReferenceModel`: soft assignment and correction with given batch terms.
/// Streaming statistics for new batches live in `QueryState`.
public struct QueryMapper: Sendable {
    /// The reference mapped onto.
    public let model: ReferenceModel
    /// The options in force.
    public let options: QueryMappingOptions
    // 2 / sigma_k per cluster, for the softmax exponent.
    let scale: [Float]
    // The reference's own terms of each global level, as Float for the correction GEMM.
    let levelTerms: [Matrix<Float>]
    // The factored cluster spread, when the options ask for mapping distances.
    let distance: MappingDistance?

    /// A mapper for `model`; checks the options against it.
    public init(model: ReferenceModel, options: QueryMappingOptions = QueryMappingOptions()) throws {
        let k = model.clusterCount
        let sigma: [Double]
        switch options.sigma {
        case nil: sigma = model.parameters.sigma
        case let s? where s.count == 1: sigma = [Double](repeating: s[0], count: k)
        case let s? where s.count == k: sigma = s
        case let s?:
            throw HarmonyError.invalidParameter("sigma has \(s.count) values; give one, or one per cluster (\(k))")
        }
        guard sigma.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw HarmonyError.invalidParameter("sigma must be a positive number")
        }
        guard options.lambda >= 0, options.lambda.isFinite else {
            throw HarmonyError.invalidParameter("the query lambda must be a finite number >= 0, got \(options.lambda)")
        }
        self.model = model
        self.options = options
        self.scale = sigma.map { Float(2 / $0) }
        self.levelTerms = model.levelTerms.map { $0.converted(to: Float.self) }
        if options.includeMappingDistance {
            guard let spread = model.clusterSpread else {
                throw HarmonyError.invalidParameter("mapping distances need a model with cluster spreads (model format 2; "
                                                    + "rebuild the reference with this version)")
            }
            distance = MappingDistance(spread: spread)
        } else {
            distance = nil
        }
    }

    /// Soft assignments R (n x K) of the cells (n x d) to the reference centroids.
    public func assign(_ cells: Matrix<Float>) throws -> Matrix<Float> {
        try check(cells)
        return assignments(of: cells).r
    }

    /// R of a chunk (n x K) with each cell's top cluster and its probability.
    struct Assignments {
        var r: Matrix<Float>
        var topCluster: [Int32]
        var topProbability: [Float]
    }

    /// Maps cells of batches the reference knows or with given terms: `terms[t]` (K x d) applies to the cells
    /// with `slots[i] == t`.
    func correct(_ cells: Matrix<Float>, assignments: Assignments, slots: [Int],
                 terms: [Matrix<Float>]) -> MappedCells {
        let n = cells.rows, d = cells.cols, k = model.clusterCount
        let r = assignments.r
        var out = cells
        var members = [[Int]](repeating: [], count: terms.count)
        if let first = slots.first, !slots.contains(where: { $0 != first }) {
            members[first] = Array(0..<n)
        } else {
            for (i, t) in slots.enumerated() { members[t].append(i) }
        }
        var gatheredR = [Float]()
        var product = [Float]()
        for (t, rows) in members.enumerated() where !rows.isEmpty {
            terms[t].values.withUnsafeBufferPointer { tb in
                if rows.count == n {
                    // The whole chunk is one batch: subtract R T in place.
                    r.values.withUnsafeBufferPointer { rb in
                        out.values.withUnsafeMutableBufferPointer { ob in
                            BLAS.sgemm(m: n, n: d, k: k, alpha: -1,
                                        a: rb.baseAddress!, lda: k, b: tb.baseAddress!, ldb: d, beta: 1, c: ob.baseAddress!, ldc: d)
                        }
                    }
                    return
                }
                let m = rows.count
                gatheredR.removeAll(keepingCapacity: true)
                for i in rows { gatheredR.append(contentsOf: r.values[(i * k)..<((i + 1) * k)]) }
                product = [Float](repeating: 0, count: m * d)
                gatheredR.withUnsafeBufferPointer { gb in
                    product.withUnsafeMutableBufferPointer { pb in
                        BLAS.sgemm(m: m, n: d, k: k, alpha: 1,
                                    a: gb.baseAddress!, lda: k, b: tb.baseAddress!, ldb: d, beta: 0, c: pb.baseAddress!, ldc: d)
                    }
                }
                out.values.withUnsafeMutableBufferPointer { ob in
                    for (row, i) in rows.enumerated() {
                        for j in 0..<d { ob[i * d + j] -= product[row * d + j] }
                    }
                }
            }
        }
        return MappedCells(corrected: out, topCluster: assignments.topCluster,
                           topProbability: assignments.topProbability,
                           assignments: options.includeAssignments ? r : nil,
                           mappingDistance: distance?.distances(cells: cells, assignments: r))
    }

    /// R, top clusters and their probabilities of checked cells.
    func assignments(of cells: Matrix<Float>) -> Assignments {
        let n = cells.rows, d = cells.cols, k = model.clusterCount
        // R and zhat are written whole (the GEMM with beta 0, the normalisation) before any read: no zero fill.
        var out = Assignments(r: Matrix(rows: n, cols: k, values: Self.uninitialized(n * k)),
                              topCluster: [Int32](repeating: 0, count: n),
                              topProbability: [Float](repeating: 0, count: n))
        var zhat = Self.uninitialized(n * d)
        cells.values.withUnsafeBufferPointer { zb in
            model.centroids.values.withUnsafeBufferPointer { yb in
                scale.withUnsafeBufferPointer { sb in
                    zhat.withUnsafeMutableBufferPointer { hb in
                        out.r.values.withUnsafeMutableBufferPointer { rb in
                            out.topCluster.withUnsafeMutableBufferPointer { cb in
                                out.topProbability.withUnsafeMutableBufferPointer { pb in
                                    SoftAssignment.assign(z: zb, n: n, d: d, y: yb, k: k, scale: sb, zhat: hb,
                                                          into: rb, cluster: cb, probability: pb)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    private static func uninitialized(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    func check(_ cells: Matrix<Float>) throws {
        guard cells.cols == model.dimension else {
            throw HarmonyError.invalidInput("query cells have \(cells.cols) dimensions; the reference has \(model.dimension)")
        }
        // Exponent bits all set: infinity or NaN. Eight lanes at a time; the slow search only names the cell.
        let finite = cells.values.withUnsafeBufferPointer { b -> Bool in
            let count = b.count, wide = count - count % 8
            let mask = SIMD8<UInt32>(repeating: 0x7F80_0000)
            var found = SIMDMask<SIMD8<Int32>>(repeating: false)
            var i = 0
            while i < wide {
                let bits = UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: SIMD8<UInt32>.self)
                found = found .| ((bits & mask) .== mask)
                i &+= 8
            }
            guard !any(found) else { return false }
            while i < count {
                if !b[i].isFinite { return false }
                i &+= 1
            }
            return true
        }
        if !finite, let bad = cells.values.firstIndex(where: { !$0.isFinite }) {
            throw HarmonyError.invalidInput("query cell \(bad / max(cells.cols, 1)) has a non-finite value")
        }
    }
}
