import Foundation

// Building a reference's gene space from expression (Symphony's recipe with scanpy's choices):
//   pass 1 over the source: validate values, library sizes (all genes), cells detecting each gene, and per-batch
//          raw sums for the variable-gene statistics;
//   variable genes: seurat_v3 over the genes detected in >= minCells cells (pass 2: clipped sums), or a list;
//   pass 3: the normalized values of the selected genes, kept as one CSR (~8 bytes per stored entry);
//   per-gene mean and SD (N - 1) of the normalized values, in Double, two-pass (mean first, then squared
//          deviations, zeros counted in closed form);
//   genes with SD 0 cannot be scaled: they are DROPPED from the selection and reported in `droppedGenes`
//          (only a --genes-from list can hold one: a variable gene varies);
//   scaling to deltas (see ScaledExpression), PCA of the re-centred scaled matrix A: exact from its Gram matrix
//          (GramPCA) up to GramPCA.maxGenes genes, else a randomized SVD (TruncatedSVD); PCs = A V.
// Sign rule: each component's largest-magnitude loading is positive (ties: the first such gene).
// Centring: the PCA centres the scaled matrix by its column means mu (scanpy's pca does, clipping moves them off
// zero); the gene space records mu^T V as its projection offset so projecting a reference cell gives its PC.

/// How the genes of a reference are chosen.
public enum GeneSelection: Sendable, Equatable {
    /// scanpy's seurat_v3 highly variable genes over the batches of the first variable: the top `count`.
    case variable(count: Int)
    /// Exactly these genes (ids or names), in the source's gene order.
    case listed([String])
}

/// Settings of a gene-space build.
public struct GeneSpaceSettings: Sendable {
    public var normalization: ExpressionNormalization
    public var selection: GeneSelection
    /// Candidate genes are detected (non-zero) in at least this many cells.
    public var minCells: Int
    /// Number of principal components d.
    public var components: Int
    /// Seed of the randomized SVD.
    public var seed: UInt64
    /// Worker threads (0: every core); results do not depend on it.
    public var threads: Int
    /// Cells read per block.
    public var blockCells: Int

    public init(normalization: ExpressionNormalization = .logCounts(targetSum: 10_000),
                selection: GeneSelection = .variable(count: 2000), minCells: Int = 3, components: Int = 20,
                seed: UInt64 = 0, threads: Int = 0, blockCells: Int = 8192) {
        self.normalization = normalization
        self.selection = selection
        self.minCells = minCells
        self.components = components
        self.seed = seed
        self.threads = threads
        self.blockCells = blockCells
    }
}

/// A built gene space with the reference cells' PCs.
public struct GeneSpaceBuild: Sendable {
    /// Genes, statistics, loadings and normalization.
    public let geneSpace: GeneSpace
    /// The reference cells' uncorrected PCs (N x d), equal to `geneSpace.project` of their rows.
    public let pcs: Matrix<Float>
    /// Selected genes dropped because their SD over the reference cells is 0.
    public let droppedGenes: [Gene]
    /// Genes detected in at least `minCells` cells.
    public let candidateCount: Int
    /// Singular values of the centred scaled matrix (d).
    public let singularValues: [Double]
}

/// Phases of the build, reported as they finish.
public enum GeneSpacePhase: String, Sendable {
    case scan = "read"
    case variableGenes = "variable genes"
    case statistics = "gene statistics"
    case pca = "PCA"
}

public enum GeneSpaceBuilder {
    /// SVD vectors beyond d (l = 2d + 20 in all), and the most subspace iterations (they stop when converged).
    static func oversampling(components d: Int) -> Int { d + 20 }
    static let maxIterations = 30

    /// Builds the gene space of `source` with cells grouped by `batches` (codes 0..<batchCount of the first variable).
    /// `progress` is called when each phase ends, with a one-line summary.
    public static func build(source: any ExpressionSource, batches: [Int32], batchCount: Int, settings: GeneSpaceSettings,
                             progress: (GeneSpacePhase, String) -> Void = { _, _ in }) throws -> GeneSpaceBuild {
        let n = source.cellCount, genes = source.genes, gTotal = genes.count
        func bad(_ m: String) -> HarmonyError { .invalidInput("\(source.origin): \(m)") }
        guard batches.count == n else { throw bad("\(batches.count) batch codes for \(n) cells") }
        guard n >= 2 else { throw bad("a reference needs at least 2 cells") }
        guard settings.components >= 1 else { throw HarmonyError.invalidParameter("the number of PCs must be at least 1") }
        guard settings.minCells >= 0 else { throw HarmonyError.invalidParameter("--min-cells must be non-negative") }
        let block = max(1, settings.blockCells)
        let runner = TaskRunner(requested: settings.threads)
        let wantsVariable: Bool
        if case .variable(let count) = settings.selection {
            guard count >= 1 else { throw HarmonyError.invalidParameter("the number of variable genes must be at least 1") }
            wantsVariable = true
        } else {
            wantsVariable = false
        }

        // Pass 1.
        var totals = [Double](repeating: 0, count: n)
        var detected = [Int](repeating: 0, count: gTotal)
        var raw = VariableGeneStatistics(batchCount: wantsVariable ? batchCount : 0, geneCount: gTotal)
        // Each block's loop runs in a function with inout arguments: arrays captured and mutated in the closure
        // itself would pay a dynamic exclusivity check on every access.
        try forEachBlock(source, block: block, runner: runner) { start, rows in
            try scanBlock(rows, firstCell: start, batches: batches, normalization: settings.normalization,
                          variable: wantsVariable, totals: &totals, detected: &detected, raw: &raw) { cell, g, x, problem in
                bad("cell \(source.cellIDs[cell]), gene \(genes[g].name): the value \(x) \(problem)")
            }
        }
        let candidates = (0..<gTotal).filter { detected[$0] >= settings.minCells }
        progress(.scan, "\(n) cells x \(gTotal) genes, \(candidates.count) genes detected in >= \(settings.minCells) cells")

        // Variable genes.
        var selected: [Int]
        switch settings.selection {
        case .variable(let count):
            guard !candidates.isEmpty else { throw bad("no gene is detected in \(settings.minCells) or more cells") }
            let r = raw.regularizedSD(candidates: candidates)
            let clip = raw.clipValues(regularizedSD: r)
            var clipped = VariableGeneStatistics(batchCount: batchCount, geneCount: gTotal)
            clipped.cells = raw.cells
            try forEachBlock(source, block: block, runner: runner) { start, rows in
                clippedBlock(rows, firstCell: start, batches: batches, clip: clip, into: &clipped)
            }
            selected = raw.select(count: count, candidates: candidates, regularizedSD: r, clipped: clipped)
            progress(.variableGenes, "\(selected.count) variable genes (seurat_v3 over \(batchCount) batches)")
        case .listed(let names):
            selected = try listedGenes(names, genes: genes, origin: source.origin)
            progress(.variableGenes, "\(selected.count) listed genes")
        }

        // Pass 3 and the statistics; genes with SD 0 leave the selection.
        var (cache, stats) = try normalizedColumns(source, selected: selected, totals: totals, settings: settings, block: block,
                                                     runner: runner)
        let keep = (0..<selected.count).filter { stats.sd[$0] > 0 && stats.sd[$0].isFinite }
        let kept = Set(keep)
        let dropped = (0..<selected.count).filter { !kept.contains($0) }.map { genes[selected[$0]] }
        if keep.count < selected.count {
            cache.restrict(to: keep, columnCount: selected.count)
            selected = keep.map { selected[$0] }
            stats = (keep.map { stats.mean[$0] }, keep.map { stats.sd[$0] })
        }
        guard selected.count >= settings.components else {
            throw bad("only \(selected.count) genes vary over the reference cells; \(settings.components) PCs need more")
        }
        progress(.statistics, "means and SDs of \(selected.count) genes" + (dropped.isEmpty ? "" : ", \(dropped.count) constant genes dropped"))

        // PCA.
        let clip = 10.0
        var values: [Float] = []
        swap(&values, &cache.values)   // the scaled matrix takes the values over in place (no second copy)
        let scaled = ScaledExpression(rowStarts: cache.rowStarts, columns: cache.columns, values: consume values,
                                      columnCount: selected.count, means: stats.mean, standardDeviations: stats.sd,
                                      clip: clip, runner: runner)
        let d = settings.components
        let svd = try principalAxes(scaled, rank: d, seed: settings.seed)
        var v = svd.vectors
        fixSigns(&v, rows: selected.count, cols: d)
        let pcsDouble = scaled.times(v, cols: d)
        var offset = [Double](repeating: 0, count: d)
        for g in 0..<selected.count { for j in 0..<d { offset[j] += scaled.columnMeans[g] * v[g * d + j] } }
        let space = try GeneSpace(genes: selected.map { genes[$0] }, means: stats.mean, standardDeviations: stats.sd,
                                  loadings: Matrix(rows: selected.count, cols: d, values: v),
                                  normalization: settings.normalization, clip: clip, projectionOffset: offset)
        progress(.pca, "\(d) PCs of \(n) cells x \(selected.count) genes (\(svd.method))")
        return GeneSpaceBuild(geneSpace: space, pcs: Matrix(rows: n, cols: d, values: pcsDouble.map { Float($0) }),
                              droppedGenes: dropped, candidateCount: candidates.count, singularValues: svd.values)
    }

    /// The leading right singular vectors and values of the scaled matrix: exactly, from its Gram matrix, up to
    /// `GramPCA.maxGenes` genes; beyond, by the seeded randomized subspace iteration. `method` says which ran.
    static func principalAxes(_ scaled: ScaledExpression, rank d: Int, seed: UInt64)
        throws -> (vectors: [Double], values: [Double], method: String) {
        if scaled.columnCount <= GramPCA.maxGenes {
            let (vectors, values) = try GramPCA.leading(scaled, rank: d)
            return (vectors, values, "exact, from the gene x gene Gram matrix")
        }
        let svd = try TruncatedSVD.randomized(scaled, rank: d, oversampling: oversampling(components: d),
                                              maxIterations: maxIterations, seed: seed)
        return (svd.vectors, svd.values, "randomized, \(svd.iterations) subspace iterations")
    }

    /// Calls `body(firstCell, rows)` for consecutive blocks of cells, in order. With a `runner` of two or more
    /// threads the next block is read while `body` works on the current one; the reads and the calls keep their
    /// order, so what `body` computes does not change.
    static func forEachBlock(_ source: any ExpressionSource, block: Int, runner: TaskRunner? = nil,
                             _ body: (Int, SparseRows) throws -> Void) throws {
        func read(_ start: Int) throws -> SparseRows? {
            guard start < source.cellCount else { return nil }
            let end = min(source.cellCount, start + block)
            let rows = try source.rows(start..<end)
            guard rows.rowCount == end - start, rows.columnCount == source.geneCount else {
                throw HarmonyError.fileFormat("\(source.origin): cells \(start)..<\(end) came back as \(rows.rowCount) x \(rows.columnCount)")
            }
            return rows
        }
        var next = 0
        try (runner ?? TaskRunner(requested: 1)).pipeline({
            let start = next
            let rows = try read(start)
            next += rows?.rowCount ?? 0
            return rows.map { (start, $0) }
        }, { try body($0.0, $0.1) })
    }

    /// Indices (source order) of the listed genes, matched by id first, then by name.
    static func listedGenes(_ names: [String], genes: [Gene], origin: String) throws -> [Int] {
        var byID: [String: Int] = [:], byName: [String: Int] = [:]
        for (i, g) in genes.enumerated() {
            if byID[g.id] == nil { byID[g.id] = i }
            if byName[g.name] == nil { byName[g.name] = i }
        }
        var chosen = Set<Int>(), missing: [String] = []
        for name in names {
            if let i = byID[name] ?? byName[name] { chosen.insert(i) } else { missing.append(name) }
        }
        guard missing.isEmpty else {
            throw HarmonyError.invalidInput("\(origin) has no gene \(missing.prefix(5).joined(separator: ", "))"
                                            + (missing.count > 5 ? " (and \(missing.count - 5) more)" : "") + " of the gene list")
        }
        guard !chosen.isEmpty else { throw HarmonyError.invalidInput("the gene list is empty") }
        return chosen.sorted()
    }

    /// Pass 1 over one block: each cell's library size, each gene's number of expressing cells, and (when
    /// `variable`) the per-batch sums and squares of the raw values; every value is checked.
    static func scanBlock(_ rows: SparseRows, firstCell: Int, batches: [Int32], normalization: ExpressionNormalization,
                          variable: Bool, totals: inout [Double], detected: inout [Int], raw: inout VariableGeneStatistics,
                          invalid: (Int, Int, Float, String) -> HarmonyError) throws {
        let gTotal = raw.geneCount
        for r in 0..<rows.rowCount {
            let cell = firstCell + r, offset = Int(batches[cell]) * gTotal
            if variable { raw.cells[Int(batches[cell])] += 1 }
            var total = 0.0
            for e in rows.rowStarts[r]..<rows.rowStarts[r + 1] {
                let x = rows.values[e], g = Int(rows.columns[e])
                if let problem = normalization.problem(with: x) { throw invalid(cell, g, x, problem) }
                total += Double(x)
                if x != 0 { detected[g] += 1 }
                if variable {
                    raw.sums[offset + g] += Double(x)
                    raw.squares[offset + g] += Double(x) * Double(x)
                }
            }
            totals[cell] = total
        }
    }

    /// Pass 2 over one block: per-batch sums and squares of the raw values clipped at `clip` (batches x genes).
    static func clippedBlock(_ rows: SparseRows, firstCell: Int, batches: [Int32], clip: [Double],
                             into clipped: inout VariableGeneStatistics) {
        let gTotal = clipped.geneCount
        for r in 0..<rows.rowCount {
            let offset = Int(batches[firstCell + r]) * gTotal
            for e in rows.rowStarts[r]..<rows.rowStarts[r + 1] {
                let k = offset + Int(rows.columns[e])
                let x = min(Double(rows.values[e]), clip[k])
                clipped.sums[k] += x
                clipped.squares[k] += x * x
            }
        }
    }

    /// The normalized values of the selected genes as one CSR, and their means and SDs (N - 1).
    static func normalizedColumns(_ source: any ExpressionSource, selected: [Int], totals: [Double],
                                  settings: GeneSpaceSettings, block: Int, runner: TaskRunner) throws
        -> (NormalizedColumns, (mean: [Double], sd: [Double])) {
        var position = [Int32](repeating: -1, count: source.geneCount)
        for (k, g) in selected.enumerated() { position[g] = Int32(k) }
        var cache = NormalizedColumns(rowStarts: [0], columns: [], values: [])
        cache.rowStarts.reserveCapacity(source.cellCount + 1)
        var sums = [Double](repeating: 0, count: selected.count)
        try forEachBlock(source, block: block, runner: runner) { start, rows in
            cache.append(rows, firstCell: start, position: position, totals: totals,
                         normalization: settings.normalization, sums: &sums)
        }
        let n = Double(source.cellCount)
        let mean = sums.map { $0 / n }
        // Squared deviations: stored entries directly, the (N - stored) zeros as (0 - mean)^2 each.
        var squares = [Double](repeating: 0, count: selected.count), stored = [Int](repeating: 0, count: selected.count)
        for e in 0..<cache.values.count {
            let k = Int(cache.columns[e]), dv = Double(cache.values[e]) - mean[k]
            squares[k] += dv * dv
            stored[k] += 1
        }
        let sd = (0..<selected.count).map { k in
            ((squares[k] + (n - Double(stored[k])) * mean[k] * mean[k]) / (n - 1)).squareRoot()
        }
        return (cache, (mean, sd))
    }

    /// Flips each column of the row-major rows x cols matrix so that its largest-magnitude entry is positive.
    static func fixSigns(_ v: inout [Double], rows: Int, cols: Int) {
        for j in 0..<cols {
            var best = 0.0
            for i in 0..<rows where abs(v[i * cols + j]) > abs(best) { best = v[i * cols + j] }
            if best < 0 { for i in 0..<rows { v[i * cols + j] = -v[i * cols + j] } }
        }
    }
}

/// The normalized values of the selected genes over all reference cells (CSR, Float values).
struct NormalizedColumns {
    var rowStarts: [Int]
    var columns: [Int32]
    var values: [Float]

    /// Appends the normalized values of `rows`' entries on selected genes (`position[g]` >= 0), adding them
    /// to `sums` per selected gene.
    mutating func append(_ rows: SparseRows, firstCell: Int, position: [Int32], totals: [Double],
                         normalization: ExpressionNormalization, sums: inout [Double]) {
        for r in 0..<rows.rowCount {
            let total = totals[firstCell + r]
            for e in rows.rowStarts[r]..<rows.rowStarts[r + 1] {
                let k = position[Int(rows.columns[e])]
                guard k >= 0, rows.values[e] != 0 else { continue }
                let v = Float(normalization.value(rows.values[e], total: total))
                columns.append(k)
                values.append(v)
                sums[Int(k)] += Double(v)
            }
            rowStarts.append(columns.count)
        }
    }

    /// Keeps only the columns `keep` (sorted indices into the old columnCount), renumbered 0..<keep.count.
    mutating func restrict(to keep: [Int], columnCount: Int) {
        var map = [Int32](repeating: -1, count: columnCount)
        for (k, c) in keep.enumerated() { map[c] = Int32(k) }
        var w = 0, rowStart = 0
        for r in 0..<(rowStarts.count - 1) {
            for e in rowStart..<rowStarts[r + 1] where map[Int(columns[e])] >= 0 {
                columns[w] = map[Int(columns[e])]
                values[w] = values[e]
                w += 1
            }
            rowStart = rowStarts[r + 1]
            rowStarts[r + 1] = w
        }
        columns.removeLast(columns.count - w)
        values.removeLast(values.count - w)
    }
}
