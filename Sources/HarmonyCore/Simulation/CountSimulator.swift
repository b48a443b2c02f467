import Foundation

// Simulated UMI counts with cell types and batch effects, for tests and benchmarks of reference building.
//
// Model (all draws from SeededGenerator; one independent stream per cell, so any block of cells is generated the
// same way in any order):
//   genes: base proportion exp(N(0, 1.5)); inverse dispersion r_g uniform in [1, 5];
//   types: 5% of genes are markers of each type, up-regulated by exp(N(1.5, 0.5));
//   batches: every gene scaled by exp(N(0, 0.25)); 10 batch-specific genes per batch (x 8 in that batch, x 0.05
//     elsewhere); type composition exp(N(0, 0.5)) weights; library size exp(N(ln U_b, 0.4)) with
//     U_b = meanUMIs x exp(N(0, 0.25)) per batch, taken at one of 8 normal quantiles (the cell's "level");
//   a cell of type t, batch b, level s: gene g's count is negative binomial with mean mu = size_s p_tbg (p_tbg the
//     normalized profile) and inverse dispersion r_g.
// Sampling is sparse: NB(mu, r) is a compound Poisson sum of Logarithmic(mu / (r + mu)) counts over
// Poisson(r ln(1 + mu / r)) events. Per (t, b, s) an alias table over the event rates draws which gene each of
// the cell's Poisson(total rate) events hits, so a cell costs its number of events, not the number of genes.

/// Shape of a simulated count matrix.
public struct CountSimulationSpec: Sendable, Equatable {
    public var cells: Int
    public var genes: Int
    public var batches: Int
    public var types: Int
    public var seed: UInt64
    /// Mean library size (UMIs per cell) before the per-batch factor.
    public var meanUMIs: Double

    public init(cells: Int, genes: Int, batches: Int, types: Int, seed: UInt64, meanUMIs: Double = 5000) {
        self.cells = cells
        self.genes = genes
        self.batches = batches
        self.types = types
        self.seed = seed
        self.meanUMIs = meanUMIs
    }
}

/// A simulated count matrix, generated block by block on demand (an `ExpressionSource` over its cells).
public struct CountSimulator: ExpressionSource, Sendable {
    public let spec: CountSimulationSpec
    public let origin: String
    public let cellIDs: [String]
    public let genes: [Gene]
    /// Batch code of every cell (levels `batchNames`).
    public let batchCodes: [Int32]
    /// Cell-type code of every cell (levels `typeNames`).
    public let typeCodes: [Int32]
    /// Library-size level of every cell.
    let levels: [UInt8]
    /// Inverse dispersion r_g of every gene.
    let inverseDispersion: [Double]
    public let batchNames: [String]
    public let typeNames: [String]
    /// Per (type, batch, level) table: alias sampler over event rates, and the Logarithmic parameter per gene.
    let tables: [EventTable]

    static let levelCount = 8
    // Standard normal quantiles at (k + 0.5) / 8.
    static let levelQuantiles: [Double] = [-1.5341, -0.8871, -0.4888, -0.1573, 0.1573, 0.4888, 0.8871, 1.5341]

    /// The simulation of `spec` (its gene model and cell labels; counts are drawn when rows are read).
    public init(_ spec: CountSimulationSpec) throws {
        guard spec.cells >= 1, spec.genes >= 10 * spec.batches + 1, spec.batches >= 1, spec.types >= 1,
              spec.meanUMIs > 0 else {
            throw HarmonyError.invalidParameter(
                "a count simulation needs at least 1 cell, type and batch, more than 10 genes per batch, and positive UMIs")
        }
        self.spec = spec
        origin = "simulated counts"
        let g = spec.genes, nb = spec.batches, nt = spec.types
        var rng = SeededGenerator(seed: spec.seed)
        let base = (0..<g).map { _ in exp(1.5 * rng.normal()) }
        let inverseDispersion = (0..<g).map { _ in 1 + 4 * rng.uniform() }
        var typeFactor = [[Double]](repeating: [Double](repeating: 1, count: g), count: nt)
        for t in 0..<nt { for k in 0..<g where rng.uniform() < 0.05 { typeFactor[t][k] = exp(1.5 + 0.5 * rng.normal()) } }
        var batchFactor = [[Double]](repeating: [], count: nb)
        var composition = [[Double]](repeating: [], count: nb)
        var librarySize = [Double](repeating: 0, count: nb)
        for b in 0..<nb {
            batchFactor[b] = (0..<g).map { _ in exp(0.25 * rng.normal()) }
            for k in 0..<(10 * nb) { batchFactor[b][k] *= k / 10 == b ? 8 : 0.05 }
            composition[b] = (0..<nt).map { _ in exp(0.5 * rng.normal()) }
            librarySize[b] = log(spec.meanUMIs) + 0.25 * rng.normal()
        }
        var tables: [EventTable] = []
        for t in 0..<nt {
            for b in 0..<nb {
                var profile = (0..<g).map { base[$0] * typeFactor[t][$0] * batchFactor[b][$0] }
                let total = profile.reduce(0, +)
                for k in 0..<g { profile[k] /= total }
                for level in 0..<Self.levelCount {
                    let size = exp(librarySize[b] + 0.4 * Self.levelQuantiles[level])
                    tables.append(EventTable(means: profile.map { $0 * size }, inverseDispersion: inverseDispersion))
                }
            }
        }
        self.tables = tables
        self.inverseDispersion = inverseDispersion
        var batchCodes = [Int32](repeating: 0, count: spec.cells), typeCodes = batchCodes
        var levels = [UInt8](repeating: 0, count: spec.cells)
        let cumulative = composition.map { w -> [Double] in
            var acc = 0.0
            let sum = w.reduce(0, +)
            return w.map { acc += $0 / sum; return acc }
        }
        for i in 0..<spec.cells {
            var cell = SeededGenerator(seed: spec.seed, stream: UInt64(i) << 1)
            let b = cell.below(nb)
            let u = cell.uniform()
            let t = cumulative[b].firstIndex { u < $0 } ?? nt - 1
            batchCodes[i] = Int32(b)
            typeCodes[i] = Int32(t)
            levels[i] = UInt8(cell.below(Self.levelCount))
        }
        self.batchCodes = batchCodes
        self.typeCodes = typeCodes
        self.levels = levels
        let cellWidth = String(spec.cells - 1).count, geneWidth = String(g).count
        cellIDs = (0..<spec.cells).map { "cell" + Self.padded($0, cellWidth) }
        genes = (0..<g).map { Gene(id: "SIMG" + Self.padded($0 + 1, geneWidth), name: "Gene" + Self.padded($0 + 1, geneWidth)) }
        batchNames = (0..<nb).map { "batch\($0 + 1)" }
        typeNames = (0..<nt).map { "type\($0 + 1)" }
    }

    static func padded(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    public func rows(_ range: Range<Int>) throws -> SparseRows {
        guard range.lowerBound >= 0, range.upperBound <= spec.cells else {
            throw HarmonyError.invalidInput("\(origin): rows \(range) out of 0..<\(spec.cells)")
        }
        var starts = [0], columns: [Int32] = [], values: [Float] = []
        var counts = [Int32](repeating: 0, count: spec.genes)
        var touched: [Int32] = []
        for i in range {
            let table = tables[(Int(typeCodes[i]) * spec.batches + Int(batchCodes[i])) * Self.levelCount + Int(levels[i])]
            var rng = SeededGenerator(seed: spec.seed, stream: (UInt64(i) << 1) | 1)
            let events = Self.poisson(table.totalRate, &rng)
            for _ in 0..<events {
                let k = table.draw(&rng)
                if counts[k] == 0 { touched.append(Int32(k)) }
                counts[k] += Int32(Self.logarithmic(Double(table.logOneMinusP[k]), table.p[k], &rng))
            }
            touched.sort()
            for k in touched {
                columns.append(k)
                values.append(Float(counts[Int(k)]))
                counts[Int(k)] = 0
            }
            touched.removeAll(keepingCapacity: true)
            starts.append(columns.count)
        }
        return SparseRows(unchecked: spec.genes, rowStarts: starts, columns: columns, values: values)
    }

    /// Poisson draw: multiplication of uniforms below mean 30, else Hörmann's PTRS transformed rejection.
    static func poisson(_ lambda: Double, _ rng: inout SeededGenerator) -> Int {
        if lambda < 30 {
            let limit = exp(-lambda)
            var k = 0, p = rng.uniform()
            while p > limit { k += 1; p *= rng.uniform() }
            return k
        }
        let slam = lambda.squareRoot(), loglam = log(lambda)
        let b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b
        let invAlpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = rng.uniform() - 0.5, v = rng.uniform()
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + lambda + 0.43).rounded(.down)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(invAlpha) - log(a / (us * us) + b) <= -lambda + k * loglam - lgamma(k + 1) { return Int(k) }
        }
    }

    /// Logarithmic(p) draw (Kemp's algorithm); `logQ` = ln(1 - p).
    static func logarithmic(_ logQ: Double, _ p: Float, _ rng: inout SeededGenerator) -> Int {
        while true {
            let v = rng.uniform()
            if v >= Double(p) { return 1 }
            let q = -expm1(logQ * rng.uniform())
            if v <= q * q {
                let k = (1 + log(v) / log(q)).rounded(.down)
                if k >= 1 && v > 0 && k.isFinite { return Int(k) }
                continue
            }
            return v >= q ? 1 : 2
        }
    }
}

/// Alias sampler (Vose) over the genes' NB event rates r ln(1 + mu / r), with each gene's Logarithmic parameter.
struct EventTable: Sendable {
    let totalRate: Double
    let probability: [Float]
    let alias: [Int32]
    /// p = mu / (r + mu) and ln(1 - p) per gene.
    let p: [Float]
    let logOneMinusP: [Float]

    init(means: [Double], inverseDispersion r: [Double]) {
        let g = means.count
        let rates = (0..<g).map { r[$0] * log1p(means[$0] / r[$0]) }
        let total = rates.reduce(0, +)
        totalRate = total
        p = (0..<g).map { Float(means[$0] / (r[$0] + means[$0])) }
        logOneMinusP = (0..<g).map { Float(log1p(-means[$0] / (r[$0] + means[$0]))) }
        var scaled = rates.map { $0 * Double(g) / total }
        var small: [Int] = [], large: [Int] = []
        for k in 0..<g { if scaled[k] < 1 { small.append(k) } else { large.append(k) } }
        var probability = [Float](repeating: 1, count: g), alias = [Int32](repeating: 0, count: g)
        while let s = small.popLast(), let l = large.popLast() {
            probability[s] = Float(scaled[s])
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { small.append(l) } else { large.append(l) }
        }
        for k in 0..<g { alias[k] = probability[k] == 1 ? Int32(k) : alias[k] }
        self.probability = probability
        self.alias = alias
    }

    @inline(__always)
    func draw(_ rng: inout SeededGenerator) -> Int {
        let k = rng.below(probability.count)
        return rng.uniform() < Double(probability[k]) ? k : Int(alias[k])
    }
}
