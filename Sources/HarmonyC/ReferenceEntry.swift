import CHarmony
import HarmonyCore

// harmony_gene_space_params_default and harmony_reference_build: a gene-space reference from the caller's
// CSR matrix (harmony.h), through the recipe `harmony reference` runs (ExpressionReference).

/// Fills `params` with `harmony reference`'s defaults.
@_cdecl("harmony_gene_space_params_default")
public func harmonyGeneSpaceParamsDefault(_ params: UnsafeMutablePointer<harmony_gene_space_params>?) {
    guard let params else { return }
    let defaults = GeneSpaceSettings()
    var c = harmony_gene_space_params()
    c.normalized = 0
    c.target_sum = 10_000
    c.min_cells = Int64(defaults.minCells)
    if case .variable(let count) = defaults.selection { c.variable_genes = Int64(count) }
    c.components = Int64(defaults.components)
    params.pointee = c
}

/// Builds a gene-space reference; see harmony.h for the buffers.
@_cdecl("harmony_reference_build")
public func harmonyReferenceBuild(_ expression: UnsafePointer<harmony_expression>?,
                                  _ covariates: UnsafePointer<harmony_covariate>?, _ covariateCount: Int64,
                                  _ space: UnsafePointer<harmony_gene_space_params>?,
                                  _ params: UnsafePointer<harmony_fit_params>?, _ progress: harmony_progress_fn?,
                                  _ progressContext: UnsafeMutableRawPointer?,
                                  _ outputs: UnsafeMutablePointer<harmony_fit_outputs>?, _ pcs: UnsafeMutablePointer<Float>?,
                                  _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let expression, let space, let params, let outputs, outputs.pointee.corrected != nil,
              outputs.pointee.model != nil else {
            throw HarmonyError.invalidInput(
                "harmony_reference_build needs the expression, both parameter sets, an output buffer for the corrected PCs and a model handle to fill")
        }
        let out = outputs.pointee
        let n = Int(max(0, expression.pointee.cells))
        let source = try CSRExpression(expression.pointee, cellIDs: try cellIds(out, cells: n))
        guard let covariates, covariateCount >= 1 else {
            throw HarmonyError.invalidInput("at least one covariate (batch variable) is required")
        }
        let covs = try (0..<Int(covariateCount)).map { try CInput.covariate(covariates[$0], cells: n, index: $0) }
        let parameters = try FitParameters.harmony(params.pointee)
        let settings = try GeneSpaceParameters.settings(space.pointee, seed: parameters.seed, threads: parameters.threads)
        let reference = try ExpressionReference.build(
            source: source, covariates: covs, labels: try labels(out, cells: n), compact: out.compact != 0,
            settings: settings, parameters: parameters,
            progress: { p in progress?(progressContext, Int64(p.iteration), p.objective) })
        if let pcs {
            reference.build.pcs.values.withUnsafeBufferPointer { pcs.update(from: $0.baseAddress!, count: $0.count) }
        }
        FitOutput.write(reference.fit, model: reference.model, to: outputs)
    }
}

/// The C gene-space parameters as `GeneSpaceSettings`.
enum GeneSpaceParameters {
    static func settings(_ c: harmony_gene_space_params, seed: UInt64, threads: Int) throws -> GeneSpaceSettings {
        guard c.components >= 1 else { throw HarmonyError.invalidParameter("n_pcs must be at least 1, got \(c.components)") }
        guard c.min_cells >= 0 else { throw HarmonyError.invalidParameter("min_cells must be 0 or more, got \(c.min_cells)") }
        let normalization: ExpressionNormalization
        if c.normalized != 0 {
            normalization = .asGiven
        } else {
            guard c.target_sum > 0, c.target_sum.isFinite else {
                throw HarmonyError.invalidParameter("target_sum must be positive, got \(c.target_sum)")
            }
            normalization = .logCounts(targetSum: c.target_sum)
        }
        let selection: GeneSelection
        if c.genes != nil {
            selection = .listed(try CInput.strings(c.genes, count: Int(max(0, c.gene_count)), what: "listed gene"))
        } else {
            guard c.variable_genes >= 1 else {
                throw HarmonyError.invalidParameter("n_genes must be at least 1, got \(c.variable_genes)")
            }
            selection = .variable(count: Int(c.variable_genes))
        }
        return GeneSpaceSettings(normalization: normalization, selection: selection, minCells: Int(c.min_cells),
                                 components: Int(c.components), seed: seed, threads: threads)
    }
}

/// The caller's CSR matrix as an expression source, read in place: each block of cells is copied into a
/// `SparseRows` (indices to Int32, values to Float) and checked there, so bad offsets or indices are errors
/// naming the cell, never out-of-bounds reads past the block's own offsets.
struct CSRExpression: ExpressionSource {
    let origin = "the expression matrix"
    let cellIDs: [String]
    let genes: [Gene]
    private let indptr: UnsafeRawPointer, indices: UnsafeRawPointer, data: UnsafeRawPointer
    private let wideIndices: Bool, doubleValues: Bool

    init(_ m: harmony_expression, cellIDs: [String]) throws {
        guard m.cells >= 0, m.genes >= 1, m.genes <= Int64(Int32.max) else {
            throw HarmonyError.invalidInput("the expression matrix must be cells x genes with at least one gene (got \(m.cells) x \(m.genes))")
        }
        guard let indptr = m.indptr, let indices = m.indices, let data = m.data else {
            throw HarmonyError.invalidInput("the expression matrix has a NULL indptr, indices or data pointer")
        }
        guard m.index_dtype == Int32(HARMONY_INT32.rawValue) || m.index_dtype == Int32(HARMONY_INT64.rawValue) else {
            throw HarmonyError.invalidParameter("unknown index dtype \(m.index_dtype) (0: int32, 1: int64)")
        }
        guard m.data_dtype == Int32(HARMONY_FLOAT32.rawValue) || m.data_dtype == Int32(HARMONY_FLOAT64.rawValue) else {
            throw HarmonyError.invalidParameter("unknown dtype \(m.data_dtype) for the expression values (0: float32, 1: float64)")
        }
        let g = Int(m.genes)
        let names = try CInput.strings(m.gene_names, count: g, what: "gene name")
        let ids = m.gene_ids == nil ? names : try CInput.strings(m.gene_ids, count: g, what: "gene id")
        self.cellIDs = cellIDs
        self.genes = zip(ids, names).map { Gene(id: $0, name: $1) }
        self.indptr = indptr
        self.indices = indices
        self.data = data
        self.wideIndices = m.index_dtype == Int32(HARMONY_INT64.rawValue)
        self.doubleValues = m.data_dtype == Int32(HARMONY_FLOAT64.rawValue)
        guard offset(0) == 0 else { throw HarmonyError.invalidInput("the expression matrix's indptr does not start at 0") }
    }

    private func offset(_ i: Int) -> Int {
        wideIndices ? Int(indptr.assumingMemoryBound(to: Int64.self)[i]) : Int(indptr.assumingMemoryBound(to: Int32.self)[i])
    }

    /// Reads the caller's buffers, which nothing writes during the call.
    var readsConcurrently: Bool { true }

    func rows(_ range: Range<Int>) throws -> SparseRows {
        guard range.lowerBound >= 0, range.upperBound <= cellIDs.count else {
            throw HarmonyError.invalidParameter("\(origin): cells \(range) are outside 0..<\(cellIDs.count)")
        }
        let lo = offset(range.lowerBound)
        var starts = [Int](repeating: 0, count: range.count + 1)
        for (k, i) in range.enumerated() {
            let end = offset(i + 1)
            guard end >= offset(i) else {
                throw HarmonyError.invalidInput("\(origin): indptr decreases at cell \(cellIDs[i])")
            }
            starts[k + 1] = end - lo
        }
        let count = starts[range.count]
        let columns: [Int32] = wideIndices
            ? try (0..<count).map { e in
                let c = indices.assumingMemoryBound(to: Int64.self)[lo + e]
                guard c >= 0, c < Int64(genes.count) else {
                    throw HarmonyError.invalidInput("\(origin): gene index \(c) is outside 0..<\(genes.count)")
                }
                return Int32(c)
            }
            : Array(UnsafeBufferPointer(start: indices.assumingMemoryBound(to: Int32.self) + lo, count: count))
        let values: [Float] = doubleValues
            ? (0..<count).map { Float(data.assumingMemoryBound(to: Double.self)[lo + $0]) }
            : Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self) + lo, count: count))
        return try SparseRows(columnCount: genes.count, rowStarts: starts, columns: columns, values: values)
    }
}
