#if canImport(Glibc)
import Glibc
#endif

// 10x Genomics outputs. Cell Ranger v3+ directories hold matrix.mtx.gz, features.tsv.gz (id, name, type) and
// barcodes.tsv.gz; v2 directories hold uncompressed matrix.mtx, genes.tsv (id, name) and barcodes.tsv. The .h5
// files hold the same genes x cells matrix as CSC, which is a CSR over cells and is read in row blocks: v3 under
// group `matrix` (with `features/{id,name,feature_type}`), v2 under one group per genome (`genes`, `gene_names`).
// Only "Gene Expression" features are kept when feature types are given (antibody capture, CRISPR guides and
// custom features are dropped), so the genes are what the expression analysis needs.

/// Readers of Cell Ranger directories, MatrixMarket files and 10x `.h5` files.
enum TenX {
    /// The feature type kept when a file lists types.
    static let geneExpression = "Gene Expression"

    /// A Cell Ranger output directory (v2 or v3).
    static func openDirectory(_ dir: String) throws -> any ExpressionSource {
        guard let matrix = existing(in: dir, ["matrix.mtx.gz", "matrix.mtx"]) else {
            throw HarmonyError.fileFormat("\(dir): no matrix.mtx or matrix.mtx.gz in this directory (expected a Cell Ranger output directory)")
        }
        return try openMatrixMarket(matrix, requireNames: true)
    }

    /// A MatrixMarket file (genes x cells); genes and barcodes come from the files beside it when present
    /// (features.tsv[.gz] or genes.tsv[.gz], barcodes.tsv[.gz]), else they are numbered gene1.., cell1...
    static func openMatrixMarket(_ path: String, requireNames: Bool = false) throws -> any ExpressionSource {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let featureFile = existing(in: dir, ["features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"])
        let barcodeFile = existing(in: dir, ["barcodes.tsv.gz", "barcodes.tsv"])
        if requireNames && (featureFile == nil || barcodeFile == nil) {
            throw HarmonyError.fileFormat("\(dir): a Cell Ranger directory needs features.tsv[.gz] (or genes.tsv) and barcodes.tsv[.gz] beside the matrix")
        }
        let full = try MatrixMarket.readCellsByGenes(path)
        var genes = (0..<full.columnCount).map { Gene(id: "gene\($0 + 1)", name: "gene\($0 + 1)") }
        var keep = [Bool](repeating: true, count: full.columnCount)
        if let featureFile {
            let rows = try tsvRows(featureFile)
            guard rows.count == full.columnCount else {
                throw HarmonyError.fileFormat("\(featureFile): \(rows.count) features but \(path) has \(full.columnCount) genes (mismatched shapes)")
            }
            genes = rows.map { Gene(id: $0[0], name: $0.count > 1 ? $0[1] : $0[0]) }
            if rows.contains(where: { $0.count > 2 }) { keep = rows.map { $0.count > 2 && $0[2] == geneExpression } }
        }
        var cells = (0..<full.rowCount).map { "cell\($0 + 1)" }
        if let barcodeFile {
            cells = try tsvRows(barcodeFile).map { $0[0] }
            guard cells.count == full.rowCount else {
                throw HarmonyError.fileFormat("\(barcodeFile): \(cells.count) barcodes but \(path) has \(full.rowCount) cells (mismatched shapes)")
            }
        }
        let columns = ColumnMap(keep: keep)
        let kept = zip(genes, keep).filter { $0.1 }.map { $0.0 }
        let origin = featureFile == nil ? path : dir
        try checkNames(genes: kept, cells: cells, origin: origin)
        let matrix = columns.isIdentity ? full
            : try SparseRows(storedRowStarts: full.rowStarts, columns: full.columns, values: full.values,
                             columns: columns, origin: path, firstRow: 0)
        return try InMemoryExpression(origin: origin, cellIDs: cells, genes: kept, matrix: matrix)
    }

    /// A 10x Genomics `.h5` file, v3 (`matrix` group) or v2 (one group per genome).
    static func openH5(_ path: String) throws -> any ExpressionSource {
        let file = try HDF5File(reading: path)
        let root = file.root
        let group: HDF5Group
        let genes: [Gene]
        var keep: [Bool]
        if root.kind(of: "matrix") == .group {
            group = try root.group("matrix")
            let features = try group.group("features")
            let ids = try features.dataset("id").readStrings()
            let names = try features.dataset("name").readStrings()
            guard ids.count == names.count else { throw file.failure(features.path, "ids and names differ in length") }
            genes = zip(ids, names).map { Gene(id: $0, name: $1) }
            keep = [Bool](repeating: true, count: ids.count)
            if features.kind(of: "feature_type") == .dataset {
                let types = try features.dataset("feature_type").readStrings()
                guard types.count == ids.count else { throw file.failure(features.path, "feature types and ids differ in length") }
                keep = types.map { $0 == geneExpression }
            }
        } else {
            let genomes = try root.memberNames().filter { root.kind(of: $0) == .group }
            guard genomes.count == 1 else {
                throw HarmonyError.fileFormat(genomes.isEmpty
                    ? "\(path): neither a 10x v3 file (group 'matrix') nor a v2 file (one group per genome)"
                    : "\(path): a 10x v2 file with several genomes (\(genomes.joined(separator: ", "))); split it per genome first")
            }
            group = try root.group(genomes[0])
            let ids = try group.dataset("genes").readStrings()
            let names = try group.dataset("gene_names").readStrings()
            guard ids.count == names.count else { throw file.failure(group.path, "genes and gene_names differ in length") }
            genes = zip(ids, names).map { Gene(id: $0, name: $1) }
            keep = [Bool](repeating: true, count: ids.count)
        }
        let cells = try group.dataset("barcodes").readStrings()
        let shape = try group.dataset("shape").readInt64s()
        guard shape.count == 2, shape[0] == Int64(genes.count), shape[1] == Int64(cells.count) else {
            throw file.failure(group.path, "shape \(shape.map(String.init).joined(separator: " x ")) disagrees with "
                               + "\(genes.count) features and \(cells.count) barcodes (mismatched shapes)")
        }
        let kept = zip(genes, keep).filter { $0.1 }.map { $0.0 }
        try checkNames(genes: kept, cells: cells, origin: path)
        return try HDF5SparseRowsSource(origin: path, cellIDs: cells, genes: kept, values: try group.dataset("data"),
                                        indices: try group.dataset("indices"), offsets: try group.dataset("indptr"),
                                        columns: ColumnMap(keep: keep))
    }

    /// The first of `names` that exists in `dir`.
    private static func existing(in dir: String, _ names: [String]) -> String? {
        names.map { "\(dir)/\($0)" }.first { access($0, F_OK) == 0 }
    }

    /// The tab-separated fields of each non-empty line of a (possibly gzip) text file.
    private static func tsvRows(_ path: String) throws -> [[String]] {
        let bytes = try FileBytes.read(path)
        return bytes.split(separator: 10).compactMap { line -> [String]? in
            var line = line
            if line.last == 13 { line = line.dropLast() }
            if line.isEmpty { return nil }
            return line.split(separator: 9, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

/// Checks that gene ids and cell ids are unique, naming the first repeat.
func checkNames(genes: [Gene], cells: [String], origin: String) throws {
    var seen = Set<String>()
    seen.reserveCapacity(genes.count)
    for gene in genes where !seen.insert(gene.id).inserted {
        throw HarmonyError.fileFormat("\(origin): gene '\(gene.id)' occurs twice; gene ids must be unique "
                                      + "(in Python, adata.var_names_make_unique())")
    }
    seen.removeAll(keepingCapacity: true)
    for cell in cells where !seen.insert(cell).inserted {
        throw HarmonyError.fileFormat("\(origin): cell '\(cell)' occurs twice; cell ids must be unique "
                                      + "(in Python, adata.obs_names_make_unique())")
    }
}
