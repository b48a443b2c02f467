import XCTest
@testable import HarmonyCore

/// Small expression data and independent dense references for the gene-space build.
enum GeneSpaceTestData {
    /// Poisson counts of `cells` x `genes`: three cell types, two batches with different library sizes; genes 0..<4
    /// are strongly type-specific (overdispersed within a batch), the others have one rate for every type.
    static func counts(cells: Int, genes: Int, seed: UInt64 = 7) throws -> (InMemoryExpression, [Int32]) {
        var rng = SeededGenerator(seed: seed)
        // Genes 4... have the same rate in every type (Poisson within a batch); genes 0..<4 are markers.
        let base = (0..<genes).map { _ in exp(rng.normal() * 0.8 - 0.5) }
        var rates = [[Double]](repeating: base, count: 3)
        for t in 0..<3 { for g in 0..<min(4, genes) { rates[t][g] = g % 3 == t ? 4 : 0.02 } }
        var starts = [0], columns: [Int32] = [], values: [Float] = []
        var batches: [Int32] = []
        for i in 0..<cells {
            let t = i % 3, b = Int32(i % 2)
            let size = b == 0 ? 1.0 : 2.5
            for g in 0..<genes {
                let x = poisson(rates[t][g] * size, &rng)
                if x > 0 { columns.append(Int32(g)); values.append(Float(x)) }
            }
            starts.append(columns.count)
            batches.append(b)
        }
        let matrix = try SparseRows(columnCount: genes, rowStarts: starts, columns: columns, values: values)
        let source = try InMemoryExpression(cellIDs: (0..<cells).map { "cell\($0)" },
                                            genes: (0..<genes).map { Gene(id: "ID\($0)", name: "G\($0)") }, matrix: matrix)
        return (source, batches)
    }

    static func poisson(_ lambda: Double, _ rng: inout SeededGenerator) -> Int {
        let limit = exp(-lambda)
        var k = 0, p = rng.uniform()
        while p > limit { k += 1; p *= rng.uniform() }
        return k
    }

    /// Dense cells x genes values of a source.
    static func dense(_ source: InMemoryExpression) -> [[Double]] {
        let m = source.matrix
        var out = [[Double]](repeating: [Double](repeating: 0, count: m.columnCount), count: m.rowCount)
        for i in 0..<m.rowCount { for e in m.rowStarts[i]..<m.rowStarts[i + 1] { out[i][Int(m.columns[e])] = Double(m.values[e]) } }
        return out
    }

    /// Eigenvalues (decreasing) and unit eigenvectors (columns of the returned row-major n x n) of a symmetric
    /// matrix by the cyclic two-sided Jacobi method.
    static func symmetricEigen(_ a0: [Double], n: Int) -> ([Double], [Double]) {
        var a = a0, v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<n { off += a[p * n + q] * a[p * n + q] } }
            if off < 1e-26 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where a[p * n + q] != 0 {
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        var vectors = [Double](repeating: 0, count: n * n)
        for (k, j) in order.enumerated() { for i in 0..<n { vectors[i * n + k] = v[i * n + j] } }
        return (order.map { a[$0 * n + $0] }, vectors)
    }
}

final class LoessTests: XCTestCase {
    func testQuadraticDataIsReproducedExactly() {
        let x = (0..<200).map { Double($0) / 20 - 3 }
        let y = x.map { 0.5 * $0 * $0 - 2 * $0 + 1 }
        let fitted = Loess.fit(x: x.reversed(), y: y.reversed(), span: 0.3, degree: 2)
        for (f, t) in zip(fitted, y.reversed()) { XCTAssertEqual(f, t, accuracy: 1e-9) }
    }

    func testSmoothsNoiseTowardTheCurve() {
        var rng = SeededGenerator(seed: 3)
        let x = (0..<2000).map { _ in rng.uniform() * 6 }
        let truth = x.map { sin($0) }
        let y = truth.map { $0 + 0.3 * rng.normal() }
        let fitted = Loess.fit(x: x, y: y, span: 0.3, degree: 2)
        var rmsFit = 0.0, rmsNoise = 0.0
        for i in 0..<x.count { rmsFit += pow(fitted[i] - truth[i], 2); rmsNoise += pow(y[i] - truth[i], 2) }
        // Each local fit averages ~600 points: the error shrinks far below the noise (0.3).
        XCTAssertLessThan((rmsFit / Double(x.count)).squareRoot(), 0.05)
        XCTAssertGreaterThan((rmsNoise / Double(x.count)).squareRoot(), 0.25)
    }

    func testDegenerateInputsFallBackInsteadOfFailing() {
        // All x equal: h = 0, the mean of y.
        let same = Loess.fit(x: [1, 1, 1, 1], y: [1, 2, 3, 6], span: 0.5, degree: 2)
        for f in same { XCTAssertEqual(f, 3, accuracy: 1e-12) }
        // Two distinct x values: a quadratic is not determined, the local line through the two group means is.
        let two = Loess.fit(x: [0, 0, 0, 1, 1, 1], y: [1, 2, 3, 5, 5, 5], span: 1, degree: 2)
        for f in two.prefix(3) { XCTAssertEqual(f, 2, accuracy: 1e-9) }
        XCTAssertTrue(two.allSatisfy { $0.isFinite })
        // One point, and none.
        XCTAssertEqual(Loess.fit(x: [2], y: [5], span: 0.3, degree: 2), [5])
        XCTAssertEqual(Loess.fit(x: [], y: [], span: 0.3, degree: 2), [])
    }
}

final class TruncatedSVDTests: XCTestCase {
    /// A dense operator for the SVD.
    struct Dense: SVDOperator {
        let rowCount: Int, columnCount: Int, a: [Double]
        func times(_ m: [Double], cols l: Int) -> [Double] {
            var out = [Double](repeating: 0, count: rowCount * l)
            for i in 0..<rowCount { for k in 0..<columnCount { for j in 0..<l { out[i * l + j] += a[i * columnCount + k] * m[k * l + j] } } }
            return out
        }
        func transposedTimes(_ y: [Double], cols l: Int) -> [Double] {
            var out = [Double](repeating: 0, count: columnCount * l)
            for i in 0..<rowCount { for k in 0..<columnCount { for j in 0..<l { out[k * l + j] += a[i * columnCount + k] * y[i * l + j] } } }
            return out
        }
    }

    func testMatchesDenseJacobiEigenOfTheGramMatrix() throws {
        let n = 120, g = 30
        var rng = SeededGenerator(seed: 11)
        // Low-rank structure plus noise: singular values decay, with small gaps further down.
        var a = [Double](repeating: 0, count: n * g)
        for r in 0..<8 {
            let scale = 10.0 / Double(r + 1)
            let u = (0..<n).map { _ in rng.normal() }, v = (0..<g).map { _ in rng.normal() }
            for i in 0..<n { for k in 0..<g { a[i * g + k] += scale * u[i] * v[k] } }
        }
        for x in 0..<a.count { a[x] += 0.1 * rng.normal() }
        let op = Dense(rowCount: n, columnCount: g, a: a)
        let svd = try TruncatedSVD.randomized(op, rank: 6, oversampling: 10, maxIterations: 30, seed: 1)
        XCTAssertLessThan(svd.iterations, 30)
        let gram = op.transposedTimes(a, cols: g)
        let (eigenvalues, eigenvectors) = GeneSpaceTestData.symmetricEigen(gram, n: g)
        for j in 0..<6 {
            XCTAssertEqual(svd.values[j] * svd.values[j], eigenvalues[j], accuracy: 1e-8 * eigenvalues[0])
            var dot = 0.0
            for k in 0..<g { dot += svd.vectors[k * 6 + j] * eigenvectors[k * g + j] }
            XCTAssertEqual(abs(dot), 1, accuracy: 1e-7, "component \(j)")
        }
        // Same seed, same result.
        let again = try TruncatedSVD.randomized(op, rank: 6, oversampling: 10, maxIterations: 30, seed: 1)
        XCTAssertEqual(again.vectors, svd.vectors)
    }
}

final class GramPCATests: XCTestCase {
    /// A sparse scaled matrix of `n` cells over `g` genes: low-rank structure on a random sparsity pattern.
    static func scaled(n: Int, g: Int, threads: Int) -> ScaledExpression {
        var rng = SeededGenerator(seed: 5)
        var rowStarts = [0], columns: [Int32] = [], values: [Float] = []
        let factors = (0..<(3 * g)).map { _ in rng.normal() }
        for i in 0..<n {
            let type = i % 3
            for k in 0..<g where rng.uniform() < 0.3 {
                columns.append(Int32(k))
                values.append(Float(abs(2 * factors[type * g + k] + 0.5 * rng.normal())))
            }
            rowStarts.append(columns.count)
        }
        var means = [Double](repeating: 0, count: g), sds = means
        for k in 0..<g { means[k] = 0.3 + 0.01 * Double(k); sds[k] = 0.5 + 0.02 * Double(k) }
        return ScaledExpression(rowStarts: rowStarts, columns: columns, values: values, columnCount: g, means: means,
                                standardDeviations: sds, clip: 10, runner: TaskRunner(requested: threads))
    }

    func testLeadingAxesMatchTheJacobiEigenOfTheDenseGramMatrix() throws {
        // 5,000 cells: three Gram blocks of 2,048 rows, the last one partial.
        let n = 5000, g = 25, d = 6
        let a = Self.scaled(n: n, g: g, threads: 2)
        let pca = try GramPCA.leading(a, rank: d)
        // Independent oracle: the dense centred matrix, its Gram in Double, Jacobi's eigen-decomposition.
        var dense = [Double](repeating: 0, count: n * g)
        for i in 0..<n {
            for k in 0..<g { dense[i * g + k] = a.offsets[k] }
            for e in a.rowStarts[i]..<a.rowStarts[i + 1] { dense[i * g + Int(a.columns[e])] += Double(a.deltas[e]) }
        }
        var gram = [Double](repeating: 0, count: g * g)
        for i in 0..<n { for r in 0..<g { for k in 0..<g { gram[r * g + k] += dense[i * g + r] * dense[i * g + k] } } }
        let (eigenvalues, eigenvectors) = GeneSpaceTestData.symmetricEigen(gram, n: g)
        for j in 0..<d {
            // Float blocks: relative error ~1e-6 on eigenvalues, more on vectors of close eigenvalues.
            XCTAssertEqual(pca.values[j] * pca.values[j], eigenvalues[j], accuracy: 1e-5 * eigenvalues[0], "value \(j)")
            var dot = 0.0
            for k in 0..<g { dot += pca.vectors[k * d + j] * eigenvectors[k * g + j] }
            XCTAssertEqual(abs(dot), 1, accuracy: 1e-5, "component \(j)")
        }
    }

    func testTheResultDoesNotDependOnTheThreadCount() throws {
        let one = try GramPCA.leading(Self.scaled(n: 4500, g: 20, threads: 1), rank: 4)
        let three = try GramPCA.leading(Self.scaled(n: 4500, g: 20, threads: 3), rank: 4)
        XCTAssertEqual(one.vectors, three.vectors)
        XCTAssertEqual(one.values, three.values)
    }

    func testTooManyComponentsIsAnError() {
        XCTAssertThrowsError(try GramPCA.leading(Self.scaled(n: 10, g: 4, threads: 1), rank: 5))
    }
}

final class GeneSpaceBuildTests: XCTestCase {
    func testListedGenesMatchADenseScanpyStylePCA() throws {
        let (source, batches) = try GeneSpaceTestData.counts(cells: 300, genes: 40)
        let names = source.genes.map(\.name)
        let settings = GeneSpaceSettings(selection: .listed(names), minCells: 0, components: 5, seed: 2)
        let build = try GeneSpaceBuilder.build(source: source, batches: batches, batchCount: 2, settings: settings)
        let space = build.geneSpace
        XCTAssertEqual(space.geneCount, 40)
        XCTAssertTrue(build.droppedGenes.isEmpty)

        // Independent dense reference: log1p(1e4 x / total), mean/SD (N - 1), clip to [-10, 10], centre, Gram.
        let raw = GeneSpaceTestData.dense(source)
        let n = raw.count, g = 40
        let norm = raw.map { row -> [Double] in let t = row.reduce(0, +); return row.map { t > 0 ? log1p(1e4 * $0 / t) : 0 } }
        var mean = [Double](repeating: 0, count: g), sd = mean
        for j in 0..<g {
            mean[j] = norm.reduce(0) { $0 + $1[j] } / Double(n)
            sd[j] = (norm.reduce(0) { $0 + pow($1[j] - mean[j], 2) } / Double(n - 1)).squareRoot()
            XCTAssertEqual(space.means[j], mean[j], accuracy: 1e-6)
            XCTAssertEqual(space.standardDeviations[j], sd[j], accuracy: 1e-6 * sd[j])
        }
        var scaled = norm.map { row in (0..<g).map { min(10, max(-10, (row[$0] - mean[$0]) / sd[$0])) } }
        for j in 0..<g {
            let mu = scaled.reduce(0) { $0 + $1[j] } / Double(n)
            for i in 0..<n { scaled[i][j] -= mu }
        }
        var gram = [Double](repeating: 0, count: g * g)
        for row in scaled { for a in 0..<g { for b in 0..<g { gram[a * g + b] += row[a] * row[b] } } }
        let (_, vectors) = GeneSpaceTestData.symmetricEigen(gram, n: g)
        for j in 0..<5 {
            var dot = 0.0
            for k in 0..<g { dot += space.loadings[k, j] * vectors[k * g + j] }
            XCTAssertGreaterThan(abs(dot), 0.9999, "component \(j)")
            // Reference PCs (dense A V) against the build's PCs.
            var worst = 0.0, scale = 0.0
            for i in 0..<n {
                var pc = 0.0
                for k in 0..<g { pc += scaled[i][k] * space.loadings[k, j] }
                worst = max(worst, abs(pc - Double(build.pcs[i, j]))); scale = max(scale, abs(pc))
            }
            XCTAssertLessThan(worst, 1e-5 * scale, "PCs of component \(j)")
            // Sign rule: the largest-magnitude loading is positive.
            let column = (0..<g).map { space.loadings[$0, j] }
            XCTAssertGreaterThan(column.max(by: { abs($0) < abs($1) })!, 0)
        }
    }

    func testProjectingReferenceCellsGivesTheirPCs() throws {
        let (source, batches) = try GeneSpaceTestData.counts(cells: 400, genes: 120)
        let settings = GeneSpaceSettings(selection: .variable(count: 50), minCells: 3, components: 8, seed: 5)
        let build = try GeneSpaceBuilder.build(source: source, batches: batches, batchCount: 2, settings: settings)
        let space = build.geneSpace
        // The caller keeps the reference genes in the reference's order and passes whole-library totals.
        let index = Dictionary(uniqueKeysWithValues: source.genes.enumerated().map { ($1, $0) })
        let columns = space.genes.map { index[$0]! }
        let m = source.matrix
        var starts = [0], cols: [Int32] = [], vals: [Float] = [], totals: [Double] = []
        let position = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, Int32($0)) })
        for i in 0..<m.rowCount {
            var entries: [(Int32, Float)] = []
            var total = 0.0
            for e in m.rowStarts[i]..<m.rowStarts[i + 1] {
                total += Double(m.values[e])
                if let k = position[Int(m.columns[e])] { entries.append((k, m.values[e])) }
            }
            for (k, v) in entries.sorted(by: { $0.0 < $1.0 }) { cols.append(k); vals.append(v) }
            starts.append(cols.count); totals.append(total)
        }
        let rows = try SparseRows(columnCount: space.geneCount, rowStarts: starts, columns: cols, values: vals)
        let projected = try space.project(rows, totals: totals)
        let scale = FixtureData.maxAbs(build.pcs)
        XCTAssertLessThan(FixtureData.maxAbsDiff(projected, build.pcs), 1e-5 * scale)
        // The type-specific genes 0..<4 are the only overdispersed ones and must be selected.
        for g in 0..<4 { XCTAssertTrue(space.genes.contains(source.genes[g]), "gene \(g)") }
        // The re-centred PCs have mean ~0.
        for j in 0..<space.dimension {
            let mean = (0..<build.pcs.rows).reduce(0.0) { $0 + Double(build.pcs[$1, j]) } / Double(build.pcs.rows)
            XCTAssertLessThan(abs(mean), 1e-4 * scale)
        }
        // Absent genes stand at the mean: projecting with a gene marked absent equals projecting with that gene at
        // its reference mean (scaled value 0), computed here by hand.
        var present = [Bool](repeating: true, count: space.geneCount)
        present[0] = false
        var keep = [0], c2: [Int32] = [], v2: [Float] = []
        for i in 0..<rows.rowCount {
            for e in rows.rowStarts[i]..<rows.rowStarts[i + 1] where rows.columns[e] != 0 { c2.append(rows.columns[e]); v2.append(rows.values[e]) }
            keep.append(c2.count)
        }
        let without = try space.project(SparseRows(columnCount: space.geneCount, rowStarts: keep, columns: c2, values: v2),
                                        totals: totals, present: present)
        let zero0 = min(10, max(-10, -space.means[0] / space.standardDeviations[0]))
        for i in 0..<rows.rowCount {
            // Full projection minus gene 0's contribution (its scaled value z0 times its loadings).
            var z0 = zero0
            for e in rows.rowStarts[i]..<rows.rowStarts[i + 1] where rows.columns[e] == 0 {
                z0 = min(10, max(-10, (log1p(1e4 * Double(rows.values[e]) / totals[i]) - space.means[0]) / space.standardDeviations[0]))
            }
            for j in 0..<space.dimension {
                let expected = Double(projected[i, j]) - z0 * space.loadings[0, j]
                XCTAssertEqual(Double(without[i, j]), expected, accuracy: 1e-5 * scale)
            }
        }
    }

    func testNonIntegerCountsAreRefusedNamingTheCellAndGene() throws {
        let matrix = try SparseRows(columnCount: 2, rowStarts: [0, 1, 2, 3], columns: [0, 1, 0], values: [3, 1.5, 2])
        let source = try InMemoryExpression(origin: "counts.h5ad", cellIDs: ["a", "b", "c"],
                                            genes: [Gene(id: "x", name: "GX"), Gene(id: "y", name: "GY")], matrix: matrix)
        XCTAssertThrowsError(try GeneSpaceBuilder.build(source: source, batches: [0, 0, 0], batchCount: 1,
                                                        settings: GeneSpaceSettings(minCells: 0, components: 1))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("counts.h5ad") && text.contains("cell b") && text.contains("GY"), text)
        }
        let negative = try InMemoryExpression(cellIDs: ["a"], genes: [Gene(id: "x", name: "GX")],
                                              matrix: SparseRows(columnCount: 1, rowStarts: [0, 1], columns: [0], values: [-1]))
        XCTAssertThrowsError(try GeneSpaceBuilder.build(source: negative, batches: [0], batchCount: 1, settings: GeneSpaceSettings()))
    }

    func testConstantListedGenesAreDroppedAndUnknownGenesRefused() throws {
        let (source, batches) = try GeneSpaceTestData.counts(cells: 90, genes: 30)
        // Gene G29 made constant zero: drop its entries.
        let m = source.matrix
        var starts = [0], cols: [Int32] = [], vals: [Float] = []
        for i in 0..<m.rowCount {
            for e in m.rowStarts[i]..<m.rowStarts[i + 1] where m.columns[e] != 29 { cols.append(m.columns[e]); vals.append(m.values[e]) }
            starts.append(cols.count)
        }
        let zeroed = try InMemoryExpression(cellIDs: source.cellIDs, genes: source.genes,
                                            matrix: SparseRows(columnCount: 30, rowStarts: starts, columns: cols, values: vals))
        let listed = (20..<30).map { "G\($0)" } + ["ID5"]
        let build = try GeneSpaceBuilder.build(source: zeroed, batches: batches, batchCount: 2,
                                               settings: GeneSpaceSettings(selection: .listed(listed), components: 3))
        XCTAssertEqual(build.droppedGenes.map(\.name), ["G29"])
        XCTAssertEqual(build.geneSpace.genes.map(\.name), ["G5"] + (20..<29).map { "G\($0)" })
        XCTAssertThrowsError(try GeneSpaceBuilder.build(source: zeroed, batches: batches, batchCount: 2,
                                                        settings: GeneSpaceSettings(selection: .listed(["G1", "NOPE"]))))
    }
}
