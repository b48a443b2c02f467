import XCTest
@testable import HarmonyCore

/// The expression readers on the shared real data sets (each as a 10x directory and an anndata-written .h5ad)
/// and on the small files of Tests/Fixtures/expression (every layout, and files broken on purpose).
final class ExpressionFilesTests: XCTestCase {
    /// make_fixtures.py's MATRIX (cells x genes), written out here independently of the readers.
    static let matrix: [[Float]] = [[0, 1, 0, 3, 0], [2, 0, 0, 0, 5], [0, 0, 0, 0, 0],
                                    [1, 1, 1, 1, 1], [0, 7, 0, 0, 2], [4, 0, 6, 0, 0]]
    static let cells = ["c1", "c2", "c3", "c4", "c5", "c6"]
    static let genes = (1...5).map { Gene(id: "ENSG0000\($0)", name: "G\($0)") }

    func fixture(_ name: String) -> String { FixtureData.expressionFixtures + "/" + name }

    /// The source's cells as dense rows, read in blocks of `block` cells.
    func dense(_ source: any ExpressionSource, block: Int = 4) throws -> [[Float]] {
        var out: [[Float]] = []
        var lo = 0
        while lo < source.cellCount {
            let hi = min(source.cellCount, lo + block)
            let rows = try source.rows(lo..<hi)
            XCTAssertEqual(rows.rowCount, hi - lo)
            for i in 0..<rows.rowCount {
                var row = [Float](repeating: 0, count: source.geneCount)
                for e in rows.rowStarts[i]..<rows.rowStarts[i + 1] { row[Int(rows.columns[e])] = rows.values[e] }
                out.append(row)
            }
            lo = hi
        }
        return out
    }

    func testEveryLayoutOfTheFixtureMatrixReadsTheSame() throws {
        let files = ["current_csr.h5ad", "current_csc.h5ad", "current_dense.h5ad", "legacy07.h5ad",
                     "legacy_h5sparse.h5ad", "tenx_v3.h5", "tenx_v2.h5", "tenx_v3_dir", "tenx_v2_dir",
                     "tenx_v3_dir/matrix.mtx.gz"]
        for name in files {
            let source = try ExpressionFiles.open(fixture(name))
            XCTAssertEqual(source.cellIDs, Self.cells, name)
            XCTAssertEqual(source.genes.map(\.name), Self.genes.map(\.name), name)
            XCTAssertEqual(source.genes.map(\.id), Self.genes.map(\.id), name)
            XCTAssertEqual(try dense(source, block: 4), Self.matrix, name)
            XCTAssertEqual(try dense(source, block: 1), Self.matrix, name)
            XCTAssertEqual(try source.rows(2..<2).rowCount, 0, name)
            XCTAssertThrowsError(try source.rows(5..<7), name)
        }
    }

    func testLayersAndRaw() throws {
        let counts = try ExpressionFiles.open(fixture("current_csr.h5ad"), layer: "counts")
        XCTAssertEqual(try dense(counts), Self.matrix)
        let raw = try ExpressionFiles.open(fixture("current_csr.h5ad"), layer: "raw")
        XCTAssertEqual(try dense(raw), Self.matrix.map { $0.map { $0 * 2 } })
        XCTAssertThrowsError(try ExpressionFiles.open(fixture("current_csr.h5ad"), layer: "spliced")) {
            XCTAssertTrue("\($0)".contains("no layer 'spliced'; its layers are 'counts'"), "\($0)")
        }
        XCTAssertThrowsError(try ExpressionFiles.open(fixture("tenx_v3.h5"), layer: "counts"))
    }

    func testPlainMatrixMarketWithoutNamesIsNumbered() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let path = try dir.write("m.mtx", "%%MatrixMarket matrix coordinate pattern general\n3 2 3\n3 2\n1 1\n2 2\n")
        let source = try ExpressionFiles.open(path)
        XCTAssertEqual(source.cellIDs, ["cell1", "cell2"])
        XCTAssertEqual(source.genes.map(\.name), ["gene1", "gene2", "gene3"])
        XCTAssertEqual(try dense(source), [[1, 0, 0], [0, 1, 1]])
    }

    /// The text is parsed in pieces of whole lines: read in 64-byte pieces (so the pieces cut the file at many
    /// places), plain and as two concatenated gzip members, an unsorted matrix equals the one it was written from;
    /// a gzip file cut short is an error, not a shorter matrix.
    func testMatrixMarketReadInPiecesEqualsItsEntries() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let genes = 50, cells = 40
        var expected = [[Float]](repeating: [Float](repeating: 0, count: genes), count: cells)
        var lines: [String] = []
        for k in 0..<(genes * cells) where (k * 7919) % 5 == 0 {
            let g = (k * 37) % genes, c = (k * 11) % cells
            guard expected[c][g] == 0 else { continue }
            expected[c][g] = Float(1 + k % 97)
            lines.append("\(g + 1) \(c + 1) \(1 + k % 97)")
        }
        // Three orders: scattered; by cell (the CSR as read); by cell except the last line, moved to the middle
        // (the order breaks half-way, after entries whose cells were never stored).
        let cellOf = { (line: String) in Int(line.split(separator: " ")[1])! }
        let byCell = lines.enumerated().sorted { (cellOf($0.1), $0.0) < (cellOf($1.1), $1.0) }.map(\.1)
        var broken = byCell
        broken.insert(broken.removeLast(), at: broken.count / 2)
        for (order, entries) in [lines, byCell, broken].enumerated() {
            try checkPieces(entries, order: order, genes: genes, cells: cells, expected: expected, in: dir)
        }
    }

    private func checkPieces(_ lines: [String], order: Int, genes: Int, cells: Int, expected: [[Float]],
                             in dir: IOTestDirectory) throws {
        let text = "%%MatrixMarket matrix coordinate integer general\n% a comment\n\(genes) \(cells) \(lines.count)\n"
            + lines.joined(separator: "\n") + "\n"
        let plain = try dir.write("m\(order).mtx", text)
        let bytes = Array(text.utf8), half = bytes.count / 2
        let gzipped = try Gzip.compress(Array(bytes[..<half])) + Gzip.compress(Array(bytes[half...]))
        let packed = try dir.write("m\(order).mtx.gz", bytes: gzipped)
        for path in [plain, packed] {
            for chunk in [64, 16 << 20] {
                let m = try MatrixMarket.readCellsByGenes(path, chunkBytes: chunk)
                XCTAssertEqual(m.rowCount, cells)
                var got = [[Float]](repeating: [Float](repeating: 0, count: genes), count: cells)
                for c in 0..<cells {
                    for e in m.rowStarts[c]..<m.rowStarts[c + 1] { got[c][Int(m.columns[e])] = m.values[e] }
                }
                XCTAssertEqual(got, expected, "\(path) in pieces of \(chunk) bytes")
            }
        }
        let cut = try dir.write("cut.mtx.gz", bytes: Array(gzipped.dropLast(12)))
        XCTAssertThrowsError(try MatrixMarket.readCellsByGenes(cut, chunkBytes: 64)) {
            XCTAssertTrue("\($0)".contains("cut.mtx.gz"), "\($0)")
        }
    }

    /// The eight-bytes-at-a-time integer reader agrees with Swift's own parse of the leading digits, for runs of
    /// 0 to 20 digits followed by every kind of byte, including runs that end at the readable end.
    func testWordAtATimeCountsAgreeWithTheByteReader() {
        var g = SeededGenerator(seed: 5)
        let tails: [UInt8] = Array(" \t\n\r/:.eE-+x".utf8) + [0, 0x80, 0xFF]
        for trial in 0..<20_000 {
            let length = g.below(21)
            var bytes = (0..<length).map { _ in UInt8(48 + g.below(10)) }
            bytes += (0..<g.below(9)).map { _ in tails[g.below(tails.count)] }
            bytes.append(0)
            let text = String(decoding: bytes.prefix { $0 >= 48 && $0 <= 57 }, as: UTF8.self)
            let expected: Int? = text.isEmpty || text.count > 18 ? nil : Int(text)
            bytes.withUnsafeBufferPointer { raw in
                raw.withMemoryRebound(to: CChar.self) { b in
                    // Every readable end from the last byte to the whole buffer.
                    for end in max(1, b.count - 8)...b.count {
                        var p = b.baseAddress!
                        let v = MatrixMarket.parseCount(&p, before: b.baseAddress! + end)
                        XCTAssertEqual(v, expected, "trial \(trial): \(text)")
                        if v != nil { XCTAssertEqual(p - b.baseAddress!, text.count) }
                    }
                }
            }
        }
    }

    func testMatrixMarketErrorsNameTheLine() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let cases = [
            ("%%MatrixMarket matrix coordinate integer general\n3 2 3\n1 1 4\n2 2 1\n", "the file ends after 2 of its 3 entries (truncated)"),
            ("%%MatrixMarket matrix coordinate integer general\n3 2 1\n4 1 4\n", "line 3: expected a gene index in 1...3"),
            ("%%MatrixMarket matrix coordinate integer general\n3 2 1\n1 1 x\n", "line 3: expected a finite value"),
            ("%%MatrixMarket matrix array real general\n3 2\n", "line 1: only 'coordinate'"),
            ("%%MatrixMarket matrix coordinate integer general\n3 2 1\n1 1 1\n1 1 1\n", "more entries than the 1"),
            ("%%MatrixMarket matrix coordinate integer general\n3 2 2\n1 1 1\n1 1 1\n", "cell 0 lists gene 0 twice"),
        ]
        for (text, message) in cases {
            let path = try dir.write("bad.mtx", text)
            XCTAssertThrowsError(try ExpressionFiles.open(path)) { error in
                guard case HarmonyError.fileFormat(let m) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains(message) && m.contains("bad.mtx"), m)
            }
        }
    }

    func testBrokenFilesGiveClearErrors() throws {
        let cases = [
            ("broken_truncated.h5ad", "not a readable HDF5 file"),
            ("broken_no_x.h5ad", "no X in this file"),
            ("broken_mismatched.h5ad", "mismatched shapes"),
            ("broken_lzf.h5ad", "compressed with lzf, which this build cannot read; rewrite with `adata.write_h5ad(path, compression='gzip')`"),
            ("broken_duplicate_genes.h5ad", "gene 'G2' occurs twice"),
        ]
        for (name, message) in cases {
            XCTAssertThrowsError(try dense(ExpressionFiles.open(fixture(name)))) { error in
                guard case HarmonyError.fileFormat(let m) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue(m.contains(message) && m.contains(name), m)
            }
        }
        XCTAssertThrowsError(try ExpressionFiles.open(fixture("missing.h5ad"))) {
            guard case HarmonyError.io = $0 else { return XCTFail("\($0)") }
        }
    }

    func testObsColumnsOfEveryKind() throws {
        let current = try AnnData.open(fixture("current_csr.h5ad"))
        XCTAssertEqual(current.obsNames, Self.cells)
        XCTAssertEqual(current.varNames, Self.genes.map(\.name))
        XCTAssertEqual(current.obs.column("batch"), .categorical(codes: [0, 1, 0, -1, 1, 0], categories: ["a", "b"]))
        // anndata stores repeated strings as categoricals, unique ones as strings.
        XCTAssertEqual(current.obs.column("label"), .categorical(codes: [0, 1, 2, 0, 1, 2], categories: ["x", "y", "z"]))
        XCTAssertEqual(current.obs.column("name"), .strings(["n1", "n2", "n3", "n4", "n5", "n6"]))
        XCTAssertEqual(current.obs.column("nstr"), .categorical(codes: [0, -1, 1, 2, 3, 4], categories: ["s1", "s3", "s4", "s5", "s6"]))
        XCTAssertEqual(current.obs.column("n"), .integers([0, 10, 20, 30, 40, 50]))
        XCTAssertEqual(current.obs.column("score"), .floats([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]))
        XCTAssertEqual(current.obs.column("flag"), .booleans([true, false, true, false, true, false]))
        XCTAssertEqual(current.obs.column("nint"), .integers([1, nil, 3, 4, 5, 6]))
        XCTAssertEqual(current.obs.column("nbool"), .booleans([true, nil, false, true, false, true]))
        XCTAssertEqual(current.obs.columnNames, ["batch", "label", "n", "score", "flag", "nint", "nbool", "name", "nstr"])
        let legacy = try AnnData.open(fixture("legacy07.h5ad"))
        XCTAssertEqual(legacy.obsNames, Self.cells)
        XCTAssertEqual(legacy.obs.columnNames, ["batch", "label", "n", "score", "flag", "name"])
        for name in ["batch", "n", "score", "flag", "name"] {
            XCTAssertEqual(legacy.obs.column(name), current.obs.column(name), name)
        }
        XCTAssertEqual(legacy.obs.column("label"), .strings(["x", "y", "z", "x", "y", "z"]))
        XCTAssertEqual(legacy.var.column("gene_ids"), .strings(Self.genes.map(\.id)))
    }

    func testObsMetadataAsText() throws {
        let metadata = try AnnData.open(fixture("current_csr.h5ad")).obsMetadata()
        let rows = Array(0..<6)
        XCTAssertEqual(try metadata.labels(column: "label", rows: rows), ["x", "y", "z", "x", "y", "z"])
        XCTAssertEqual(try metadata.labels(column: "flag", rows: [0, 1]), ["True", "False"])
        XCTAssertEqual(try metadata.labels(column: "score", rows: [0]), ["0.5"])
        XCTAssertThrowsError(try metadata.labels(column: "batch", rows: rows)) {
            XCTAssertTrue("\($0)".contains("empty value for cell 'c4'"), "\($0)")
        }
    }

    func testObsm() throws {
        let expected = (0..<18).map { Float($0) / 4 }
        for name in ["current_csr.h5ad", "legacy07.h5ad"] {
            let adata = try AnnData.open(fixture(name))
            let pca = try adata.obsm("X_pca")
            XCTAssertEqual([pca.rows, pca.cols], [6, 3])
            XCTAssertEqual(pca.values, expected)
            let embedding = try adata.obsmEmbedding("X_pca")
            XCTAssertEqual(embedding.ids, Self.cells)
            XCTAssertEqual(embedding.columnNames, ["X_pca_1", "X_pca_2", "X_pca_3"])
            XCTAssertThrowsError(try adata.obsm("X_umap")) { XCTAssertTrue("\($0)".contains("no obsm array 'X_umap'; it has 'X_pca'")) }
        }
    }

    /// The 10x directory and the anndata .h5ad of each real data set hold the same cells, genes and counts.
    func testRealDataDirectoryAndH5ADAgree() throws {
        let sets = [("pbmc_stim_counts", 2_000, 9_015), ("ifnb_small_counts", 832, 14_053), ("kang_muscat_counts", 1_556, 1_267)]
        for (name, cells, genes) in sets {
            let base = FixtureData.shared + "/data/\(name)"
            let tenx = try ExpressionFiles.open(base + "/mtx")
            let h5ad = try ExpressionFiles.open(base + "/counts.h5ad")
            XCTAssertEqual([tenx.cellCount, tenx.geneCount], [cells, genes], name)
            XCTAssertEqual(h5ad.cellIDs, tenx.cellIDs, name)
            XCTAssertEqual(h5ad.genes, tenx.genes, name)
            let whole = try tenx.rows(0..<cells)
            XCTAssertEqual(try h5ad.rows(0..<cells), whole, name)
            // Blocks of an odd size concatenate to the whole.
            var starts = [0], columns: [Int32] = [], values: [Float] = []
            for lo in stride(from: 0, to: cells, by: 333) {
                let block = try h5ad.rows(lo..<min(cells, lo + 333))
                starts += block.rowStarts.dropFirst().map { $0 + columns.count }
                columns += block.columns
                values += block.values
            }
            XCTAssertEqual(SparseRows(unchecked: genes, rowStarts: starts, columns: columns, values: values), whole, name)
            if name == "pbmc_stim_counts" { XCTAssertEqual(whole.columns.count, 1_129_806) }
            // Every value is a positive count (the README: non-negative integers, zeros not stored).
            XCTAssertTrue(whole.values.allSatisfy { $0 >= 1 && $0.rounded() == $0 }, name)
        }
    }

    func testRealObsCategoricalMatchesTheMetaTable() throws {
        let adata = try AnnData.open(FixtureData.shared + "/data/pbmc_stim_counts/counts.h5ad")
        guard case .categorical(let codes, let categories)? = adata.obs.column("stim") else {
            return XCTFail("stim is not categorical")
        }
        XCTAssertEqual(categories, ["ctrl", "stim"])
        XCTAssertEqual(codes.filter { $0 == 0 }.count, 1_000)
        let metadata = try adata.obsMetadata()
        XCTAssertEqual(try metadata.labels(column: "stim", rows: Array(0..<2_000)),
                       try FixtureData.metaColumn("pbmc_stim_counts", "stim"))
        XCTAssertEqual(adata.obsNames, try DelimitedTable.read(FixtureData.shared + "/data/pbmc_stim_counts/meta.tsv.gz").ids)
    }

    func testWriterOutputReadsBack() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let path = dir.path("out.h5ad")
        let embedding = Matrix<Float>(rows: 3, cols: 2, values: [1, 2, 3, 4, 5, 6.5])
        let output = AnnDataOutput(
            obsNames: ["a", "b", "c"],
            obsColumns: [("batch", .categorical(["y", "x", "y"])), ("name", .strings(["p", "q", "r"])),
                         ("depth", .doubles([1.5, 2, 3])), ("n", .integers([4, 5, 6])), ("f", .floats([0.25, 0, 1]))],
            obsm: [("X_pca_harmony", embedding)], uns: [("tool", .string("test")), ("k", .integer(3))])
        try AnnDataWriter.write(output, to: path)
        XCTAssertEqual(dir.listing(), ["out.h5ad"])
        let back = try AnnData.open(path)
        XCTAssertEqual(back.obsNames, ["a", "b", "c"])
        XCTAssertEqual(back.varNames, [])
        XCTAssertEqual(back.obs.columnNames, ["batch", "name", "depth", "n", "f"])
        XCTAssertEqual(back.obs.column("batch"), .categorical(codes: [1, 0, 1], categories: ["x", "y"]))
        XCTAssertEqual(back.obs.column("name"), .strings(["p", "q", "r"]))
        XCTAssertEqual(back.obs.column("depth"), .floats([1.5, 2, 3]))
        XCTAssertEqual(back.obs.column("n"), .integers([4, 5, 6]))
        XCTAssertEqual(back.obs.column("f"), .floats([0.25, 0, 1]))
        XCTAssertEqual(try back.obsm("X_pca_harmony"), embedding)
        XCTAssertThrowsError(try AnnDataWriter.write(AnnDataOutput(obsNames: ["a"], obsColumns: [("x", .floats([1, 2]))]),
                                                     to: dir.path("bad.h5ad")))
        XCTAssertEqual(dir.listing(), ["out.h5ad"])
    }
}
