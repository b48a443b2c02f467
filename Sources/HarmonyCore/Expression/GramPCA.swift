import COpenBLAS

// Exact PCA of the centred scaled matrix A (N cells x G genes) through its G x G Gram matrix C = A^T A:
//   C = sum over blocks of rows B (b x G, dense) of B^T B;  C = V diag(S^2) V^T;  PCs = A V.
// The right singular vectors of A are C's eigenvectors, and its singular values the square roots of C's
// eigenvalues, so this is the answer an exact solver (ARPACK, as scanpy uses) gives, with no iterations and no
// random start. It costs N G^2 multiply-adds in BLAS's SYRK, which for the usual 2,000 genes is far cheaper than
// the dozens of sparse passes of a subspace iteration that converges slowly on single-cell spectra (their small
// gaps past the first few PCs), and its memory is C plus one dense block per task.
// Precision: each block's B^T B is a Float SYRK (b = 2,048 rows, relative rounding ~1e-7 x sqrt(b) per entry),
// and the blocks are added in Double in block order, so neither N nor the thread count changes the rounding of
// the sum: the result depends on the data and the block size alone. The eigenproblem is solved in Double by
// LAPACK's dsyevr (MRRR), for the d largest eigenpairs only.

enum GramPCA {
    /// Rows per dense block.
    static let blockRows = 2048

    /// Largest gene count for which the Gram matrix is used (C takes G^2 x 8 bytes: 512 MiB at 8,000 genes);
    /// beyond it the build falls back to the randomized subspace iteration.
    static let maxGenes = 8000

    /// The first `rank` right singular vectors (G x rank, row-major, decreasing singular value) and singular
    /// values of `a`.
    static func leading(_ a: ScaledExpression, rank: Int) throws -> (vectors: [Double], values: [Double]) {
        let g = a.columnCount
        guard rank >= 1, rank <= min(a.rowCount, g) else {
            throw HarmonyError.invalidInput("cannot compute \(rank) components from \(a.rowCount) cells and \(g) genes")
        }
        var gram = a.gram(blockRows: blockRows)
        return try topEigenpairs(&gram, size: g, count: rank)
    }

    /// The `count` largest eigenvalues' square roots (clamped at 0) and their unit eigenvectors (size x count,
    /// row-major) of the symmetric matrix whose upper triangle `c` holds (row-major; destroyed).
    static func topEigenpairs(_ c: inout [Double], size n: Int, count d: Int) throws -> (vectors: [Double], values: [Double]) {
        BLAS.prepareLAPACK()
        // Row-major upper = column-major lower.
        var nn = Int32(n), lda = Int32(n), il = Int32(n - d + 1), iu = Int32(n), ldz = Int32(n)
        var vl = 0.0, vu = 0.0, abstol = 0.0, found: Int32 = 0, info: Int32 = 0
        var w = [Double](repeating: 0, count: n), z = [Double](repeating: 0, count: n * d)
        var support = [Int32](repeating: 0, count: 2 * d)
        var workQuery = 0.0, iworkQuery: Int32 = 0, lwork: Int32 = -1, liwork: Int32 = -1
        dsyevr_("V", "I", "L", &nn, &c, &lda, &vl, &vu, &il, &iu, &abstol, &found, &w, &z, &ldz, &support,
                &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1, 1)
        var work = [Double](repeating: 0, count: max(1, Int(workQuery)))
        var iwork = [Int32](repeating: 0, count: max(1, Int(iworkQuery)))
        lwork = Int32(work.count)
        liwork = Int32(iwork.count)
        dsyevr_("V", "I", "L", &nn, &c, &lda, &vl, &vu, &il, &iu, &abstol, &found, &w, &z, &ldz, &support,
                &work, &lwork, &iwork, &liwork, &info, 1, 1, 1)
        guard info == 0, Int(found) == d else {
            throw HarmonyError.numerical("PCA: the eigen-decomposition failed (info \(info), \(found) of \(d) found)")
        }
        // dsyevr returns ascending eigenvalues; column j of z (column-major, n rows) is the j-th.
        var vectors = [Double](repeating: 0, count: n * d), values = [Double](repeating: 0, count: d)
        for j in 0..<d {
            let source = d - 1 - j
            values[j] = max(0, w[source]).squareRoot()
            for i in 0..<n { vectors[i * d + j] = z[source * n + i] }
        }
        return (vectors, values)
    }
}

extension ScaledExpression {
    /// A^T A (G x G, row-major; only the upper triangle is filled), from dense Float blocks of `blockRows` rows.
    /// Tasks each turn one block into its Float Gram; the blocks' Grams are added in Double in block order.
    func gram(blockRows: Int) -> [Double] {
        let g = columnCount, blocks = (rowCount + blockRows - 1) / blockRows
        let lanes = max(1, min(runner.threads, blocks))
        var total = [Double](repeating: 0, count: g * g)
        var dense = [Float](repeating: 0, count: lanes * blockRows * g)
        var partial = [Float](repeating: 0, count: lanes * g * g)
        var first = 0
        while first < blocks {
            let round = min(lanes, blocks - first)
            dense.withUnsafeMutableBufferPointer { db in
                partial.withUnsafeMutableBufferPointer { pb in
                    let dBase = db.baseAddress!, pBase = pb.baseAddress!
                    runner.run(round) { lane in
                        let start = (first + lane) * blockRows, end = min(rowCount, start + blockRows)
                        let rows = dBase + lane * blockRows * g
                        fillDense(rows, from: start, to: end)
                        BLAS.ssyrkUpperTransposed(n: g, k: end - start, a: rows, lda: g, c: pBase + lane * g * g, ldc: g)
                    }
                }
            }
            for lane in 0..<round {
                let offset = lane * g * g
                for r in 0..<g { for k in r..<g { total[r * g + k] += Double(partial[offset + r * g + k]) } }
            }
            first += round
        }
        return total
    }

    /// Writes rows start..<end of A (offsets plus deltas) densely, row-major with stride G.
    private func fillDense(_ out: UnsafeMutablePointer<Float>, from start: Int, to end: Int) {
        let g = columnCount
        for i in start..<end {
            let row = out + (i - start) * g
            for k in 0..<g { row[k] = Float(offsets[k]) }
            for e in rowStarts[i]..<rowStarts[i + 1] {
                let k = Int(columns[e])
                row[k] = Float(offsets[k] + Double(deltas[e]))
            }
        }
    }
}
