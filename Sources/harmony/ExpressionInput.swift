import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

// INTERIM, until the expression readers of the `io` branch are merged: `harmony reference` opens its input here.
// At the merge this file is deleted and `ExpressionInput.open(path, layer:)` becomes `ExpressionFiles.open(path,
// layer:)` (and the metadata of an .h5ad input comes from `AnnData.open(path).obsMetadata()`).
// This reads a 10x directory (matrix.mtx[.gz], features.tsv[.gz] or genes.tsv[.gz], barcodes.tsv[.gz]) whole
// into memory; MatrixMarket must be coordinate integer/real general, genes x cells.

enum ExpressionInput {
    /// The expression matrix at `path` (a 10x directory).
    static func open(_ path: String, layer: String?) throws -> any ExpressionSource {
        guard layer == nil else { throw HarmonyError.invalidParameter("--layer applies to .h5ad input, not to \(path)") }
        func first(_ names: [String]) throws -> String {
            for name in names where access(path + "/" + name, F_OK) == 0 { return path + "/" + name }
            throw HarmonyError.fileFormat("\(path): no \(names.joined(separator: " or ")) (expected a 10x Genomics directory)")
        }
        let matrixPath = try first(["matrix.mtx.gz", "matrix.mtx"])
        let featuresPath = try first(["features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"])
        let barcodesPath = try first(["barcodes.tsv.gz", "barcodes.tsv"])
        let genes = try lines(featuresPath).map { line -> Gene in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Gene(id: f[0], name: f.count > 1 ? f[1] : f[0])
        }
        let cells = try lines(barcodesPath)
        let text = try lines(matrixPath)
        guard let header = text.first, header.hasPrefix("%%MatrixMarket matrix coordinate"),
              !header.contains("pattern"), !header.contains("complex") else {
            throw HarmonyError.fileFormat("\(matrixPath): not a MatrixMarket coordinate integer or real matrix")
        }
        let body = text.drop { $0.hasPrefix("%") }
        guard let sizeLine = body.first, case let size = sizeLine.split(separator: " ").compactMap({ Int($0) }), size.count == 3,
              size[0] == genes.count, size[1] == cells.count else {
            throw HarmonyError.fileFormat("\(matrixPath): its size line does not match \(genes.count) genes x \(cells.count) cells")
        }
        var perCell = [[(Int32, Float)]](repeating: [], count: cells.count)
        for (k, line) in body.dropFirst().enumerated() {
            let f = line.split(separator: " ")
            guard f.count == 3, let g = Int(f[0]), let c = Int(f[1]), let v = Float(f[2]),
                  (1...genes.count).contains(g), (1...cells.count).contains(c) else {
                throw HarmonyError.fileFormat("\(matrixPath): entry \(k + 1) ('\(line)') is not 'gene cell value' within the size")
            }
            perCell[c - 1].append((Int32(g - 1), v))
        }
        var starts = [0], columns: [Int32] = [], values: [Float] = []
        for (c, entries) in perCell.enumerated() {
            var previous: Int32 = -1
            for (g, v) in entries.sorted(by: { $0.0 < $1.0 }) {
                guard g != previous else { throw HarmonyError.fileFormat("\(matrixPath): gene \(g + 1) of cell \(c + 1) is given twice") }
                previous = g
                columns.append(g)
                values.append(v)
            }
            starts.append(columns.count)
        }
        return try InMemoryExpression(origin: path, cellIDs: cells, genes: genes,
                                      matrix: SparseRows(unchecked: genes.count, rowStarts: starts, columns: columns, values: values))
    }

    private static func lines(_ path: String) throws -> [String] {
        String(decoding: try FileBytes.read(path), as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map(String.init).filter { !$0.isEmpty }
    }
}
