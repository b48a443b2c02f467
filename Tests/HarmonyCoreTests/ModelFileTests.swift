import XCTest
@testable import HarmonyCore

final class ModelFileTests: XCTestCase {
    /// A gene space of 3 genes over d dimensions with values that round-trip only if every byte does.
    static func smallGeneSpace(d: Int, normalization: ExpressionNormalization = .logCounts(targetSum: 10_000)) throws -> GeneSpace {
        try GeneSpace(genes: [Gene(id: "ENSG01", name: "CD3E"), Gene(id: "ENSG02", name: "MS4A1"), Gene(id: "ENSG03", name: "LYZ")],
                      means: [0.25, 1.5, 3.125], standardDeviations: [0.5, 1.25, 2],
                      loadings: Matrix(rows: 3, cols: d, values: (0..<(3 * d)).map { Double($0) / 7 - 0.4 }),
                      normalization: normalization, clip: 10, projectionOffset: (0..<d).map { Double($0) * 0.01 })
    }

    /// A cluster spread of k clusters over d dimensions (symmetric covariances with positive variances).
    static func smallSpread(k: Int, d: Int) throws -> ClusterSpread {
        var covariances = [Double](repeating: 0, count: k * d * d)
        for c in 0..<k {
            for a in 0..<d {
                for b in 0..<d { covariances[c * d * d + a * d + b] = a == b ? 1 + Double(c) : 0.1 * Double(c + 1) }
            }
        }
        return try ClusterSpread(centres: Matrix(rows: k, cols: d, values: (0..<(k * d)).map { Double($0) - 1.5 }),
                                 covariances: covariances)
    }

    /// A small full model with two covariates, labels and cells, and (format 2) genes and cluster spreads.
    static func smallModel(cells n: Int = 6, compact: Bool = false, genes: Bool = true, spread: Bool = true) throws -> ReferenceModel {
        var rng = QueryStateTests.SplitMix(state: 11)
        let k = 3, d = 2
        var sums = Matrix<Double>(rows: k, cols: d)
        for i in 0..<sums.values.count { sums.values[i] = Double.random(in: -2...2, using: &rng) }
        let terms = (0..<3).map { _ in
            Matrix<Double>(rows: k, cols: d, values: (0..<(k * d)).map { _ in Double.random(in: -1...1, using: &rng) })
        }
        let labels = ReferenceLabels(name: "cell_type", values: ["B", "T"],
                                     clusterFrequencies: Matrix(rows: k, cols: 2, values: [0.5, 0.5, 1, 0, 0.25, 0.75]))
        let original = QueryStateTests.randomCells(n, d: d, rng: &rng)
        let corrected = QueryStateTests.randomCells(n, d: d, rng: &rng)
        let cells = ReferenceCells(ids: (0..<n).map { "cell\($0)" }, original: original, corrected: corrected,
                                   covariateCodes: [(0..<n).map { Int32($0 % 2) }, (0..<n).map { _ in 0 }],
                                   labelCodes: (0..<n).map { Int32($0 % 2) })
        return try ReferenceModel(
            modelVersion: 7,
            parameters: ReferenceParameters(preset: .harmony1, sigma: [0.1, 0.2, 0.3], theta: [2, 1], lambda: .fixed([1, 0.5])),
            clusterMass: [3, 2.5, 0.5], clusterSums: sums, levelTerms: terms,
            covariates: [ReferenceCovariate(name: "batch", levels: ["a", "b"]), ReferenceCovariate(name: "donor", levels: ["x"])],
            labels: labels, cells: compact ? nil : cells, geneSpace: genes ? try smallGeneSpace(d: d) : nil,
            clusterSpread: spread ? try smallSpread(k: k, d: d) : nil)
    }

    func testWriteReadRoundTripAndMapIdentically() throws {
        let model = try Self.smallModel()
        let path = NSTemporaryDirectory() + "ref-model-\(getpid()).hmod"
        defer { unlink(path) }
        try ModelFile.write(model, to: path)
        let back = try ModelFile.read(path)
        XCTAssertEqual(back, model)
        XCTAssertEqual(back.modelVersion, 7)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix("ref-model-\(getpid()).hmod.tmp") }
        XCTAssertEqual(leftovers, [])
        let cells = Matrix<Float>(rows: 3, cols: 2, values: [1, 2, -1, 0.5, 0.3, -2])
        let a = try QueryState.mapJointly(model: model, cells: cells, batches: ["a", "new", "new"], batchKey: "batch",
                                          options: QueryMappingOptions())
        let b = try QueryState.mapJointly(model: back, cells: cells, batches: ["a", "new", "new"], batchKey: "batch",
                                          options: QueryMappingOptions())
        XCTAssertEqual(a, b)
        let compact = try Self.smallModel(compact: true)
        XCTAssertEqual(try ModelFile.decode(ModelFile.encode(compact), source: "compact"), compact)
        for (genes, spread) in [(false, false), (true, false), (false, true)] {
            let partial = try Self.smallModel(genes: genes, spread: spread)
            let back = try ModelFile.decode(ModelFile.encode(partial), source: "partial")
            XCTAssertEqual(back, partial)
            XCTAssertEqual(back.geneSpace != nil, genes)
            XCTAssertEqual(back.clusterSpread != nil, spread)
        }
        let asGiven = try ReferenceModel(parameters: model.parameters, clusterMass: model.clusterMass,
                                         clusterSums: model.clusterSums, levelTerms: model.levelTerms,
                                         covariates: model.covariates, labels: nil, cells: nil,
                                         geneSpace: try Self.smallGeneSpace(d: 2, normalization: .asGiven))
        XCTAssertEqual(try ModelFile.decode(ModelFile.encode(asGiven), source: "as given").geneSpace?.normalization, .asGiven)
    }

    /// The bytes of `model` as format 1 wrote them: format 2 without GENES and CLUSTER_SPREAD differs only in the
    /// version field (and so in the header checksum).
    static func formatOneBytes(_ model: ReferenceModel) -> [UInt8] {
        precondition(model.geneSpace == nil && model.clusterSpread == nil)
        var bytes = ModelFile.encode(model)
        bytes[8] = 1
        let count = Int(bytes[32])
        let tableEnd = ModelFile.fixedHeaderSize + ModelFile.tableEntrySize * count
        let header = CRC32.checksum(Array(bytes[0..<tableEnd]))
        withUnsafeBytes(of: header.littleEndian) { for (i, b) in $0.enumerated() { bytes[tableEnd + i] = b } }
        return bytes
    }

    /// Version-1 files still load (full and compact); a version-1 header claiming a format-2 section is refused.
    func testFormatOneFilesStillLoad() throws {
        for compact in [false, true] {
            let model = try Self.smallModel(compact: compact, genes: false, spread: false)
            let v1 = Self.formatOneBytes(model)
            XCTAssertEqual(v1[8], 1)
            let back = try ModelFile.decode(v1, source: "v1.hmod")
            XCTAssertEqual(back, model)
            XCTAssertNil(back.clusterSpread)
            XCTAssertEqual(try ModelFile.formatVersion(v1, source: "v1.hmod"), 1)
        }
        // A format-2 file with genes, relabelled as format 1 (checksums fixed): bit 2 is unknown to format 1.
        var bytes = ModelFile.encode(try Self.smallModel(spread: false))
        XCTAssertEqual(try ModelFile.formatVersion(bytes, source: "v2"), 2)
        bytes[8] = 1
        let tableEnd = ModelFile.fixedHeaderSize + ModelFile.tableEntrySize * Int(bytes[32])
        let header = CRC32.checksum(Array(bytes[0..<tableEnd]))
        withUnsafeBytes(of: header.littleEndian) { for (i, b) in $0.enumerated() { bytes[tableEnd + i] = b } }
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "m.hmod")) { error in
            XCTAssertTrue("\(error)".contains("unknown header flags"), "\(error)")
        }
    }

    /// A mapping with distances needs a cluster spread: a format-1 model says so instead of guessing.
    func testMappingDistanceNeedsAClusterSpread() throws {
        let model = try ModelFile.decode(Self.formatOneBytes(try Self.smallModel(genes: false, spread: false)), source: "v1")
        XCTAssertThrowsError(try QueryMapper(model: model, options: QueryMappingOptions(includeMappingDistance: true))) { error in
            guard case HarmonyError.invalidParameter = error else { return XCTFail("\(error)") }
        }
        let full = try Self.smallModel()
        let mapped = try QueryState.mapJointly(model: full, cells: Matrix(rows: 2, cols: 2, values: [1, 0, 0, 1]),
                                               batches: ["a", "new"], batchKey: "batch",
                                               options: QueryMappingOptions(includeMappingDistance: true))
        XCTAssertEqual(mapped.mappingDistance?.count, 2)
    }

    /// Every single-byte change and every truncation is refused with a file-format error.
    func testEveryCorruptionAndTruncationIsRefused() throws {
        let bytes = ModelFile.encode(try Self.smallModel())
        XCTAssertEqual(try ModelFile.decode(bytes, source: "ok"), try Self.smallModel())
        for i in 0..<bytes.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var bad = bytes
                bad[i] ^= flip
                XCTAssertThrowsError(try ModelFile.decode(bad, source: "m"), "byte \(i) ^ \(flip) accepted") { error in
                    guard case HarmonyError.fileFormat = error else { return XCTFail("byte \(i): \(error)") }
                }
            }
        }
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try ModelFile.decode(Array(bytes[0..<length]), source: "m"), "prefix \(length) accepted")
        }
        XCTAssertThrowsError(try ModelFile.decode(bytes + [0], source: "m"))
    }

    /// Crafted files (section bytes changed and every checksum recomputed) are refused or read, never a crash,
    /// and whatever is read is a consistent model.
    func testCraftedSectionsNeverCrash() throws {
        let bytes = ModelFile.encode(try Self.smallModel())
        let sections = try ModelFile.sections(bytes, source: "ok")
        let tableEnd = ModelFile.fixedHeaderSize + ModelFile.tableEntrySize * sections.count
        var refused = 0, read = 0
        for (s, section) in sections.enumerated() {
            for p in section.offset..<(section.offset + section.length) {
                for value: UInt8 in [0x00, 0xFF, bytes[p] &+ 1] where value != bytes[p] {
                    var crafted = bytes
                    crafted[p] = value
                    let sum = CRC32.checksum(Array(crafted[section.offset..<(section.offset + section.length)]))
                    withUnsafeBytes(of: sum.littleEndian) { for (i, b) in $0.enumerated() { crafted[ModelFile.fixedHeaderSize + 24 * s + 4 + i] = b } }
                    let header = CRC32.checksum(Array(crafted[0..<tableEnd]))
                    withUnsafeBytes(of: header.littleEndian) { for (i, b) in $0.enumerated() { crafted[tableEnd + i] = b } }
                    do {
                        let model = try ModelFile.decode(crafted, source: "crafted")
                        XCTAssertEqual(model.centroids.rows, model.clusterCount)
                        read += 1
                    } catch let error as HarmonyError {
                        guard case .fileFormat = error else { return XCTFail("\(error)") }
                        refused += 1
                    }
                }
            }
        }
        print("crafted model files: \(refused) refused, \(read) read as consistent models")
        XCTAssertGreaterThan(refused, 0)
    }

    /// Strings must be valid UTF-8: a cell id whose last bytes are a truncated four-byte sequence (F0 90 80) is
    /// refused, although a lossy decoding (one U+FFFD, three bytes) has the same length as the bytes.
    func testATruncatedUTF8SequenceInAStringIsRefused() throws {
        var bytes = ModelFile.encode(try Self.smallModel())
        let sections = try ModelFile.sections(bytes, source: "ok")
        let ids = try XCTUnwrap(sections.first { $0.name == "CELL_IDS" })
        let target = Array("cell5".utf8)
        let at = try XCTUnwrap((ids.offset...(ids.offset + ids.length - target.count)).first {
            Array(bytes[$0..<($0 + target.count)]) == target
        })
        bytes.replaceSubrange(at..<(at + target.count), with: [0x63, 0x65, 0xF0, 0x90, 0x80])
        // Every checksum recomputed, so only the string itself is wrong.
        let tableEnd = ModelFile.fixedHeaderSize + ModelFile.tableEntrySize * sections.count
        for (s, section) in sections.enumerated() {
            let sum = CRC32.checksum(bytes[section.offset..<(section.offset + section.length)])
            withUnsafeBytes(of: sum.littleEndian) { for (i, b) in $0.enumerated() { bytes[ModelFile.fixedHeaderSize + 24 * s + 4 + i] = b } }
        }
        let header = CRC32.checksum(bytes[0..<tableEnd])
        withUnsafeBytes(of: header.littleEndian) { for (i, b) in $0.enumerated() { bytes[tableEnd + i] = b } }
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "m.hmod")) { error in
            guard case HarmonyError.fileFormat(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("section CELL_IDS") && message.contains("not valid UTF-8"), message)
        }
    }

    func testNewerVersionAndWrongMagicMessages() throws {
        var bytes = ModelFile.encode(try Self.smallModel())
        bytes[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "m.hmod")) { error in
            XCTAssertTrue("\(error)".contains("wrong magic"), "\(error)")
        }
        bytes[0] = UInt8(ascii: "H")
        // A version newer than this build reads (3 is the newest) is named before the checksum is looked at.
        bytes[8] = 4
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "m.hmod")) { error in
            XCTAssertTrue("\(error)".contains("format 4"), "\(error)")
        }
        XCTAssertThrowsError(try ModelFile.read("/nonexistent/dir/m.hmod")) { error in
            guard case HarmonyError.io = error else { return XCTFail("\(error)") }
        }
        // A small pickle named .hmod (protocol 4: 0x80 0x04 ...) is named as such, not called truncated; a real
        // model cut short is.
        let pickle: [UInt8] = [0x80, 0x04, 0x95, 0x0B, 0, 0, 0, 0, 0, 0, 0, 0x7D, 0x94, 0x2E]
        XCTAssertThrowsError(try ModelFile.decode(pickle, source: "p.hmod")) { error in
            XCTAssertTrue("\(error)".contains("Python pickle"), "\(error)")
            XCTAssertFalse("\(error)".contains("truncated"), "\(error)")
        }
        let cut = Array(ModelFile.encode(try Self.smallModel()).prefix(20))
        XCTAssertThrowsError(try ModelFile.decode(cut, source: "c.hmod")) { error in
            XCTAssertTrue("\(error)".contains("truncated: only 20 bytes"), "\(error)")
        }
    }

    /// The worked example of Protocols/model-format.md, byte for byte where the document spells bytes out.
    func testFormatDocumentExample() throws {
        let model = try ReferenceModel(
            parameters: ReferenceParameters(preset: .harmony2, sigma: [0.1], theta: [2], lambda: .dynamic(alpha: 0.2)),
            clusterMass: [4], clusterSums: Matrix(rows: 1, cols: 1, values: [2]), levelTerms: [Matrix(rows: 1, cols: 1)],
            covariates: [ReferenceCovariate(name: "b", levels: ["x"])], labels: nil, cells: nil)
        let bytes = ModelFile.encode(model)
        XCTAssertEqual(bytes.count, 240)
        XCTAssertEqual(Array(bytes[0..<0x28]), [0x48, 0x4D, 0x4F, 0x44, 0x0D, 0x0A, 0x1A, 0x0A, 2, 0, 0, 0, 1, 0, 0, 0,
                                                1, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0])
        let sections = try ModelFile.sections(bytes, source: "example")
        XCTAssertEqual(sections.map(\.name), ["PARAMETERS", "STATISTICS", "COVARIATES", "LEVEL_TERMS"])
        XCTAssertEqual(sections.map(\.offset), [0x90, 0xC0, 0xD0, 0xE8])
        XCTAssertEqual(sections.map(\.length), [44, 16, 18, 8])
        XCTAssertEqual(Array(bytes[0x90..<0xA4]), [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
        XCTAssertEqual(Array(bytes[0xD0..<0xE2]), [1, 0, 0, 0, 1, 0, 0, 0, 0x62, 1, 0, 0, 0, 1, 0, 0, 0, 0x78])
        XCTAssertEqual(try ModelFile.decode(bytes, source: "example"), model)
    }

    /// The GENES example of Protocols/model-format.md, byte for byte, and its place in a model's section table.
    func testFormatDocumentGenesExample() throws {
        let space = try GeneSpace(genes: [Gene(id: "G1", name: "A")], means: [0.5], standardDeviations: [2],
                                  loadings: Matrix(rows: 1, cols: 1, values: [0.25]),
                                  normalization: .logCounts(targetSum: 10_000), clip: 10, projectionOffset: [0.125])
        let body = ModelFile.encodeGenes(space)
        XCTAssertEqual(body.count, 71)
        XCTAssertEqual(Array(body[0..<0x27]), [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0, 0, 0, 0x88, 0xC3, 0x40, 0, 0, 0, 0, 0, 0, 0x24, 0x40,
                                               2, 0, 0, 0, 0x47, 0x31, 1, 0, 0, 0, 0x41])
        let model = try ReferenceModel(
            parameters: ReferenceParameters(preset: .harmony2, sigma: [0.1], theta: [2], lambda: .dynamic(alpha: 0.2)),
            clusterMass: [4], clusterSums: Matrix(rows: 1, cols: 1, values: [2]), levelTerms: [Matrix(rows: 1, cols: 1)],
            covariates: [ReferenceCovariate(name: "b", levels: ["x"])], labels: nil, cells: nil, geneSpace: space,
            clusterSpread: try ClusterSpread(centres: Matrix(rows: 1, cols: 1, values: [1]), covariances: [4]))
        let bytes = ModelFile.encode(model)
        XCTAssertEqual(Array(bytes[12..<16]), [0x0D, 0, 0, 0])  // compact | genes | cluster spread
        let sections = try ModelFile.sections(bytes, source: "example")
        XCTAssertEqual(sections.map(\.name), ["PARAMETERS", "STATISTICS", "COVARIATES", "LEVEL_TERMS", "GENES", "CLUSTER_SPREAD"])
        XCTAssertEqual(sections.map(\.length).suffix(2), [71, 24])
        XCTAssertEqual(try ModelFile.decode(bytes, source: "example"), model)
    }

    /// A model with many cells round-trips through the bulk array sections (its load time at 1M cells is
    /// measured in BENCHMARKS.md, not here).
    func testLargeModelRoundTrips() throws {
        let n = 200_000, d = 30, k = 100
        var sums = Matrix<Double>(rows: k, cols: d, repeating: 1)
        sums.values[0] = 2
        let cells = ReferenceCells(ids: (0..<n).map { "c\($0)" }, original: Matrix(rows: n, cols: d, repeating: 0.5),
                                   corrected: Matrix(rows: n, cols: d, repeating: 0.25),
                                   covariateCodes: [[Int32](repeating: 0, count: n)], labelCodes: [])
        let model = try ReferenceModel(
            parameters: ReferenceParameters(preset: .harmony2, sigma: [Double](repeating: 0.1, count: k), theta: [2],
                                            lambda: .dynamic(alpha: 0.2)),
            clusterMass: [Double](repeating: 10_000, count: k), clusterSums: sums,
            levelTerms: [Matrix(rows: k, cols: d)], covariates: [ReferenceCovariate(name: "batch", levels: ["a"])],
            labels: nil, cells: cells)
        let path = NSTemporaryDirectory() + "ref-large-\(getpid()).hmod"
        defer { unlink(path) }
        try ModelFile.write(model, to: path)
        let back = try ModelFile.read(path)
        XCTAssertEqual(back.cells?.ids.count, n)
        XCTAssertEqual(back.cells?.ids.last, "c\(n - 1)")
        XCTAssertEqual(back.cells?.corrected.values.last, 0.25)
        XCTAssertEqual(back.cells?.original.values.first, 0.5)
        XCTAssertEqual(back.clusterSums.values[0], 2)
    }
}
