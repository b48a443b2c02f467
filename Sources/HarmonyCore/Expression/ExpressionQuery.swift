// Bringing a query's expression into a reference's PC space (Symphony's mapQuery, step 1):
//   1. the query's genes are matched to the reference genes (`GeneMatch`: by id, then by name); too small an
//      overlap is refused, since another species or gene naming projects to noise, not to the reference;
//   2. blocks of cells are re-indexed over the reference genes with each cell's whole-library total (counts over
//      ALL of its genes, as at reference build time), every value checked on the way;
//   3. `GeneSpace.project` normalizes, scales, clips and multiplies by the loadings; reference genes the query
//      lacks stand at the reference mean.
// Blocks bound the memory: a block of cells is sparse, the output n x d; never a dense cells x genes array.

/// A query's expression projected on a reference's gene space: the uncorrected PCs, ready for mapping.
public struct ExpressionQuery: Sendable {
    /// The minimum fraction of reference genes a query must measure unless told otherwise.
    public static let defaultMinimumOverlap = 0.5
    /// Cells read and projected per block.
    public static let defaultBlockCells = 4096

    /// How the query's genes matched the reference's.
    public let match: GeneMatch
    /// Number of genes in the query.
    public let queryGeneCount: Int
    /// Cell ids, one per row of `projection`.
    public let cellIDs: [String]
    /// The uncorrected projection, cells x d (Float, like every embedding; accumulated in Double).
    public let projection: Matrix<Float>

    /// Projects every cell of `source` on the gene space of `model`.
    /// - Throws: `invalidInput` when the model holds no genes (built from an embedding), when fewer than
    ///   `minimumOverlap` of the reference genes are in the query, when two query genes feed one reference gene,
    ///   or when a value is not acceptable (negative or non-integer counts for a counts model, non-finite) or a cell
    ///   is empty; `invalidParameter` for an overlap outside [0, 1].
    public init(model: ReferenceModel, source: any ExpressionSource,
                minimumOverlap: Double = ExpressionQuery.defaultMinimumOverlap,
                blockCells: Int = ExpressionQuery.defaultBlockCells, threads: Int = 0) throws {
        guard let space = model.geneSpace else {
            throw HarmonyError.invalidInput(
                "\(source.origin) holds expression, but the reference model has no genes (it was built from an "
                + "embedding): give the query as an embedding in the reference's PC space, or build the reference "
                + "from expression with `harmony reference`")
        }
        try self.init(space: space, source: source, minimumOverlap: minimumOverlap, blockCells: blockCells,
                      threads: threads)
    }

    /// Projects every cell of `source` on `space`; see `init(model:source:minimumOverlap:blockCells:threads:)`.
    /// `threads` (0: every core) project blocks of `blockCells` cells at once; the result does not depend on it.
    public init(space: GeneSpace, source: any ExpressionSource,
                minimumOverlap: Double = ExpressionQuery.defaultMinimumOverlap,
                blockCells: Int = ExpressionQuery.defaultBlockCells, threads: Int = 0) throws {
        guard minimumOverlap >= 0, minimumOverlap <= 1 else {
            throw HarmonyError.invalidParameter("the minimum gene overlap must be within 0...1, not \(minimumOverlap)")
        }
        guard blockCells >= 1 else {
            throw HarmonyError.invalidParameter("cells per block must be at least 1, not \(blockCells)")
        }
        let match = try GeneMatch(reference: space.genes, query: source.genes, source: source.origin)
        guard match.overlap >= minimumOverlap else {
            throw HarmonyError.invalidInput(Self.overlapProblem(match, referenceGenes: space.genes, source: source,
                                                                minimumOverlap: minimumOverlap))
        }
        let n = source.cellCount, d = space.dimension
        let ids = source.cellIDs
        var out = Matrix<Float>(rows: n, cols: d)
        let counts = space.normalization.expectsCounts
        // One block of cells over the query genes -> its rows of the projection.
        func project(_ start: Int, _ block: SparseRows, cells: Range<Int>? = nil, into out: UnsafeMutablePointer<Float>) throws {
            let (rows, totals) = try match.referenceRows(block, cells: cells, counts: counts, firstCell: start,
                                                         cellIDs: ids, source: source.origin)
            let part = try space.project(rows, totals: totals, present: match.present)
            part.values.withUnsafeBufferPointer { (out + start * d).update(from: $0.baseAddress!, count: $0.count) }
        }
        try out.values.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            guard source.readsConcurrently else {
                // One reader (a file's handle): blocks in order, the next read while this one is projected.
                return try GeneSpaceBuilder.forEachBlock(source, block: blockCells, runner: TaskRunner(requested: threads)) {
                    try project($0, $1, into: base)
                }
            }
            // Blocks are independent and write disjoint rows: project them in parallel, and report the error of
            // the first failing block, as the sequential order would.
            var failures = [(any Error)?](repeating: nil, count: TaskRunner.taskCount(n, perTask: blockCells))
            failures.withUnsafeMutableBufferPointer { failed in
                TaskRunner(requested: threads).runRanges(n, perTask: blockCells) { task, lo, hi in
                    do {
                        try source.withRows(lo..<hi) { try project(lo, $0, cells: $1, into: base) }
                    } catch { failed[task] = error }
                }
            }
            if let first = failures.lazy.compactMap({ $0 }).first { throw first }
        }
        self.match = match
        self.queryGeneCount = source.geneCount
        self.cellIDs = ids
        self.projection = out
    }

    /// One line for the user: how many reference genes matched, how, and how many stand at the reference mean.
    public var overlapSummary: String { Self.overlapSummary(match, queryGeneCount: queryGeneCount) }

    /// The overlap line of `match` against a query of `queryGeneCount` genes (also used by `harmony client map`,
    /// which matches genes the same way against the daemon's gene list).
    public static func overlapSummary(_ match: GeneMatch, queryGeneCount: Int) -> String {
        let g = match.referenceGeneCount
        let percent = Self.percent(match.overlap)
        return "\(match.matchedCount) of the reference's \(g) genes found among the query's \(queryGeneCount) "
            + "(\(percent)%: \(match.matchedById) by id, \(match.matchedByName) by name); "
            + "\(g - match.matchedCount) missing, held at the reference mean"
    }

    static func percent(_ fraction: Double) -> String {
        String((fraction * 1000).rounded() / 10)
    }

    /// The error for too small an overlap: both gene counts, and what usually causes it.
    public static func overlapProblem(_ match: GeneMatch, referenceGenes: [Gene], source: any ExpressionSource,
                                      minimumOverlap: Double) -> String {
        let example = { (genes: [Gene]) -> String in
            guard let gene = genes.first else { return "none" }
            return gene.id == gene.name ? gene.id : "\(gene.id)/\(gene.name)"
        }
        return "\(source.origin): only \(match.matchedCount) of the reference's \(referenceGenes.count) genes "
            + "(\(percent(match.overlap))%) are among the query's \(source.geneCount) genes, below the minimum "
            + "overlap of \(percent(minimumOverlap))%; is the query another species, or are its genes named "
            + "another way (symbols vs Ensembl ids)? The reference has genes like \(example(referenceGenes)), "
            + "the query like \(example(source.genes))"
    }
}
