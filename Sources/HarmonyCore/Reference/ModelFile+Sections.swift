import HarmonyProtocol

// Encoding and decoding of each model file section (layouts in Protocols/model-format.md). Decoders read
// through `ModelSectionReader`, which throws on any overrun; counts are bounded by the section length before any
// allocation, and every section must be consumed exactly.

extension ModelFile {
    // MARK: - Encoding

    static func encodeParameters(_ model: ReferenceModel) -> [UInt8] {
        var w = ByteWriter()
        let p = model.parameters
        w.writeUInt32(UInt32(model.clusterCount))
        w.writeUInt32(UInt32(model.dimension))
        w.writeUInt8(p.preset == .harmony2 ? 0 : 1)
        let lambdaValues: [Double]
        switch p.lambda {
        case .dynamic(let alpha): w.writeUInt8(0); lambdaValues = [alpha]
        case .fixed(let values): w.writeUInt8(1); lambdaValues = values
        }
        w.writeUInt16(0)
        w.writeUInt32(UInt32(p.theta.count))
        w.writeUInt32(UInt32(lambdaValues.count))
        w.writeFloat64Array(p.sigma)
        w.writeFloat64Array(p.theta)
        w.writeFloat64Array(lambdaValues)
        return w.bytes
    }

    static func encodeStatistics(_ model: ReferenceModel) -> [UInt8] {
        var w = ByteWriter()
        w.writeFloat64Array(model.clusterMass)
        w.writeFloat64Array(model.clusterSums.values)
        return w.bytes
    }

    static func encodeCovariates(_ model: ReferenceModel) -> [UInt8] {
        var w = ByteWriter()
        w.writeUInt32(UInt32(model.covariates.count))
        for cov in model.covariates {
            w.writeLongString(cov.name)
            w.writeUInt32(UInt32(cov.levels.count))
            for level in cov.levels { w.writeLongString(level) }
        }
        return w.bytes
    }

    static func encodeLevelTerms(_ model: ReferenceModel) -> [UInt8] {
        var w = ByteWriter()
        for terms in model.levelTerms { w.writeFloat64Array(terms.values) }
        return w.bytes
    }

    static func encodeLabels(_ labels: ReferenceLabels) -> [UInt8] {
        var w = ByteWriter()
        w.writeLongString(labels.name)
        w.writeUInt32(UInt32(labels.values.count))
        for v in labels.values { w.writeLongString(v) }
        w.writeFloat64Array(labels.clusterFrequencies.values)
        return w.bytes
    }

    static func encodeCellIds(_ cells: ReferenceCells) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + cells.ids.reduce(0) { $0 + 4 + $1.utf8.count })
        w.writeUInt64(UInt64(cells.ids.count))
        for id in cells.ids { w.writeLongString(id) }
        return w.bytes
    }

    static func encodeLayout(_ layout: ReferenceLayout) -> [UInt8] {
        let p = layout.parameters
        var w = ByteWriter(capacity: 64 + 4 * layout.positions.values.count)
        w.writeUInt64(UInt64(layout.positions.rows))
        w.writeUInt32(UInt32(p.neighbors))
        w.writeUInt32(UInt32(p.resolvedEpochs(cells: layout.positions.rows)))
        w.writeUInt32(UInt32(p.negativeSampleRate))
        w.writeUInt32(0)
        w.writeUInt64(p.seed)
        w.writeFloat64Array([p.minDist, p.spread, p.learningRate, p.repulsion])
        w.writeFloat32Array(layout.positions.values)
        return w.bytes
    }

    static func encodeCellData(_ cells: ReferenceCells) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + 8 * cells.original.values.count + 4 * cells.ids.count * (1 + cells.covariateCodes.count))
        w.writeUInt64(UInt64(cells.ids.count))
        w.writeUInt32(UInt32(cells.covariateCodes.count))
        w.writeUInt32(cells.labelCodes.isEmpty ? 0 : 1)
        w.writeFloat32Array(cells.original.values)
        w.writeFloat32Array(cells.corrected.values)
        for codes in cells.covariateCodes { w.writeInt32Array(codes) }
        w.writeInt32Array(cells.labelCodes)
        return w.bytes
    }

    static func encodeGenes(_ genes: GeneSpace) -> [UInt8] {
        var w = ByteWriter()
        w.writeUInt32(UInt32(genes.geneCount))
        w.writeUInt32(UInt32(genes.dimension))
        switch genes.normalization {
        case .logCounts(let target): w.writeUInt8(0); w.writeUInt8(0); w.writeUInt16(0); w.writeFloat64Array([target])
        case .asGiven: w.writeUInt8(1); w.writeUInt8(0); w.writeUInt16(0); w.writeFloat64Array([0])
        }
        w.writeFloat64Array([genes.clip])
        for gene in genes.genes {
            w.writeLongString(gene.id)
            w.writeLongString(gene.name)
        }
        w.writeFloat64Array(genes.means)
        w.writeFloat64Array(genes.standardDeviations)
        w.writeFloat64Array(genes.loadings.values)
        w.writeFloat64Array(genes.projectionOffset)
        return w.bytes
    }

    static func encodeClusterSpread(_ spread: ClusterSpread) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + 8 * (spread.centres.values.count + spread.covariances.count))
        w.writeUInt32(UInt32(spread.clusterCount))
        w.writeUInt32(UInt32(spread.dimension))
        w.writeFloat64Array(spread.centres.values)
        w.writeFloat64Array(spread.covariances)
        return w.bytes
    }

    // MARK: - Decoding

    /// The GENES section: a gene space over the model's d dimensions.
    static func decodeGenes(_ r: ModelSectionReader, dimension: Int) throws -> GeneSpace {
        var r = r
        let g = Int(try r.u32()), d = Int(try r.u32())
        guard d == dimension else { throw r.fail("\(d) loading columns for a model of \(dimension) dimensions") }
        // Each gene takes at least 8 string-length bytes and 8 * (2 + d) value bytes.
        guard g >= 1, g <= r.remaining / (24 + 8 * d) else { throw r.fail("gene count \(g) does not fit the section") }
        let kind = try r.u8()
        guard kind <= 1, try r.u8() == 0, try r.u16() == 0 else { throw r.fail("unknown normalization kind \(kind)") }
        let target = try r.doubles(1)[0], clip = try r.doubles(1)[0]
        guard kind == 0 || target == 0 else { throw r.fail("a target sum is given for values used as they are") }
        var genes: [Gene] = []
        genes.reserveCapacity(g)
        for _ in 0..<g { genes.append(Gene(id: try r.string(), name: try r.string())) }
        // g <= section bytes / 24 and d <= 2^20: the products cannot overflow.
        let means = try r.doubles(g), sds = try r.doubles(g)
        let loadings = Matrix<Double>(rows: g, cols: d, values: try r.doubles(g * d))
        let offset = try r.doubles(d)
        try r.expectEnd()
        do {
            return try GeneSpace(genes: genes, means: means, standardDeviations: sds, loadings: loadings,
                                 normalization: kind == 0 ? .logCounts(targetSum: target) : .asGiven, clip: clip,
                                 projectionOffset: offset)
        } catch let error as HarmonyError {
            throw r.fail(error.description)
        }
    }

    /// The CLUSTER_SPREAD section: K centres and K covariances over d dimensions.
    static func decodeClusterSpread(_ r: ModelSectionReader, clusters k: Int, dimension d: Int) throws -> ClusterSpread {
        var r = r
        guard Int(try r.u32()) == k, Int(try r.u32()) == d else { throw r.fail("its K and d differ from PARAMETERS") }
        // k, d <= 2^20 (checked with PARAMETERS), so k * d * (d + 1) * 8 fits an Int.
        guard k * d * (d + 1) * 8 == r.remaining else { throw r.fail("length does not match K x d centres and K x d x d covariances") }
        let centres = Matrix<Double>(rows: k, cols: d, values: try r.doubles(k * d))
        let covariances = try r.doubles(k * d * d)
        do {
            return try ClusterSpread(centres: centres, covariances: covariances)
        } catch let error as HarmonyError {
            throw r.fail(error.description)
        }
    }

    /// The LAYOUT section: N, the UMAP settings, then N x 2 positions.
    static func decodeLayout(_ r: ModelSectionReader) throws -> ReferenceLayout {
        var r = r
        let n64 = try r.u64()
        var p = UMAPParameters()
        p.neighbors = Int(try r.u32())
        p.epochs = Int(try r.u32())
        p.negativeSampleRate = Int(try r.u32())
        guard try r.u32() == 0 else { throw r.fail("a reserved field is not zero") }
        p.seed = try r.u64()
        let settings = try r.doubles(4)
        (p.minDist, p.spread, p.learningRate, p.repulsion) = (settings[0], settings[1], settings[2], settings[3])
        guard n64 <= UInt64(r.remaining / 8), Int(n64) * 8 == r.remaining else {
            throw r.fail("length does not match \(n64) cells x 2 positions")
        }
        let positions = Matrix<Float>(rows: Int(n64), cols: 2, values: try r.floats(2 * Int(n64)))
        do {
            return try ReferenceLayout(positions: positions, parameters: p)
        } catch let error as HarmonyError {
            throw r.fail(error.description)
        }
    }

    static func decodeModel(version: UInt64, parameters pr: ModelSectionReader, statistics sr: ModelSectionReader,
                            covariates cr: ModelSectionReader, levelTerms lr: ModelSectionReader, labels lbr: ModelSectionReader?,
                            cellIds ir: ModelSectionReader?, cellData dr: ModelSectionReader?, genes gr: ModelSectionReader?,
                            clusterSpread csr: ModelSectionReader?, layout lor: ModelSectionReader?,
                            source: String) throws -> ReferenceModel {
        var pr = pr, sr = sr, cr = cr, lr = lr
        let k = Int(try pr.u32()), d = Int(try pr.u32())
        guard k >= 1, d >= 1, k <= 1 << 20, d <= 1 << 20 else { throw pr.fail("invalid K \(k) or d \(d)") }
        let presetCode = try pr.u8(), lambdaKind = try pr.u8()
        guard presetCode <= 1, lambdaKind <= 1, try pr.u16() == 0 else { throw pr.fail("unknown preset or lambda kind") }
        let thetaCount = try pr.count32(limit: pr.remaining / 8, what: "the theta count")
        let lambdaCount = try pr.count32(limit: pr.remaining / 8, what: "the lambda count")
        let sigma = try pr.doubles(k), theta = try pr.doubles(thetaCount), lambdaValues = try pr.doubles(lambdaCount)
        try pr.expectEnd()
        guard lambdaKind == 1 || lambdaCount == 1 else { throw pr.fail("a dynamic lambda needs exactly one alpha") }
        let params = ReferenceParameters(preset: presetCode == 0 ? .harmony2 : .harmony1, sigma: sigma, theta: theta,
                                         lambda: lambdaKind == 0 ? .dynamic(alpha: lambdaValues[0]) : .fixed(lambdaValues))

        let mass = try sr.doubles(k)
        let sums = Matrix<Double>(rows: k, cols: d, values: try sr.doubles(k * d))
        try sr.expectEnd()

        let covariateCount = try cr.count32(limit: cr.remaining / 8, what: "the covariate count")
        var covariates: [ReferenceCovariate] = []
        for _ in 0..<covariateCount {
            let name = try cr.string()
            let levelCount = try cr.count32(limit: cr.remaining / 4, what: "a level count")
            var levels: [String] = []
            for _ in 0..<levelCount { levels.append(try cr.string()) }
            covariates.append(ReferenceCovariate(name: name, levels: levels))
        }
        try cr.expectEnd()

        let levelCount = covariates.reduce(0) { $0 + $1.levels.count }
        guard product(levelCount, k, d, 8) == lr.remaining else { throw lr.fail("length does not match \(levelCount) levels x K x d") }
        var terms: [Matrix<Double>] = []
        for _ in 0..<levelCount { terms.append(Matrix(rows: k, cols: d, values: try lr.doubles(k * d))) }

        var labels: ReferenceLabels? = nil
        if var r = lbr {
            let name = try r.string()
            let count = try r.count32(limit: r.remaining / 4, what: "the label count")
            var values: [String] = []
            for _ in 0..<count { values.append(try r.string()) }
            guard product(k, count, 8) == r.remaining else { throw r.fail("label frequencies are not K x \(count)") }
            labels = ReferenceLabels(name: name, values: values,
                                     clusterFrequencies: Matrix(rows: k, cols: count, values: try r.doubles(k * count)))
        }

        var cells: ReferenceCells? = nil
        if var ir, var dr {
            let n64 = try ir.u64()
            guard n64 <= UInt64(ir.remaining / 4) else { throw ir.fail("cell count \(n64) exceeds the section") }
            let n = Int(n64)
            var ids: [String] = []
            ids.reserveCapacity(n)
            for _ in 0..<n { ids.append(try ir.string()) }
            try ir.expectEnd()
            guard try dr.u64() == n64 else { throw dr.fail("cell count differs from CELL_IDS") }
            let codeLists = Int(try dr.u32()), hasLabels = try dr.u32()
            guard codeLists == covariates.count, hasLabels == (labels == nil ? 0 : 1) else {
                throw dr.fail("code lists do not match the covariates and labels")
            }
            let cellValues = n * d  // n <= section bytes / 4 and d <= 2^20: no overflow
            guard let floats = product(cellValues, 8), let codeBytes = product(n, 4, codeLists + Int(hasLabels)),
                  floats.addingReportingOverflow(codeBytes) == (dr.remaining, false) else {
                throw dr.fail("length does not match \(n) cells x \(d) dimensions")
            }
            let original = Matrix<Float>(rows: n, cols: d, values: try dr.floats(cellValues))
            let corrected = Matrix<Float>(rows: n, cols: d, values: try dr.floats(cellValues))
            var codes: [[Int32]] = []
            for _ in 0..<codeLists { codes.append(try dr.int32s(n)) }
            let labelCodes = hasLabels == 1 ? try dr.int32s(n) : []
            cells = ReferenceCells(ids: ids, original: original, corrected: corrected, covariateCodes: codes,
                                   labelCodes: labelCodes)
        }
        let geneSpace = try gr.map { try decodeGenes($0, dimension: d) }
        let spread = try csr.map { try decodeClusterSpread($0, clusters: k, dimension: d) }
        let layout = try lor.map { try decodeLayout($0) }
        do {
            return try ReferenceModel(modelVersion: version, parameters: params, clusterMass: mass, clusterSums: sums,
                                      levelTerms: terms, covariates: covariates, labels: labels, cells: cells,
                                      geneSpace: geneSpace, clusterSpread: spread, layout: layout)
        } catch let error as HarmonyError {
            throw HarmonyError.fileFormat("\(source): inconsistent model: \(error.description)")
        }
    }

    /// The product of sizes, or nil if it overflows (a crafted file must not trap the reader).
    static func product(_ factors: Int...) -> Int? {
        var out = 1
        for f in factors {
            let (p, overflow) = out.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            out = p
        }
        return out
    }
}
