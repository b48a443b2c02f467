#if canImport(Glibc)
import Glibc
#endif

// A cells x genes source written as a Cell Ranger v3 style directory:
//   matrix.mtx.gz    MatrixMarket "coordinate integer general", genes x cells, 1-based, entries by cell then gene;
//   features.tsv.gz  gene id <TAB> gene name <TAB> "Gene Expression";
//   barcodes.tsv.gz  one cell id per line.
// The matrix is streamed in blocks of cells; MatrixMarket's header needs the number of entries first, so the
// source is read twice (once to count, once to write): sources that generate their rows (simulations) are never
// held whole. Values must be non-negative integers (counts).

/// Writes expression as a 10x Genomics directory.
public enum TenXDirectoryWriter {
    /// Writes `source` into `directory` (created if missing); the three files appear only when all are written.
    public static func write(_ source: any ExpressionSource, to directory: String, blockCells: Int = 4096) throws {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw HarmonyError.io("\(directory): cannot create the directory: \(String(cString: strerror(errno)))")
        }
        var entries = 0
        try forEachBlock(source, blockCells) { _, rows in entries += rows.values.count }
        let matrix = try GzipFileStream(path: "\(directory)/matrix.mtx.gz")
        try matrix.write("%%MatrixMarket matrix coordinate integer general\n%\n\(source.geneCount) \(source.cellCount) \(entries)\n")
        var line: [UInt8] = []
        line.reserveCapacity(1 << 20)
        try forEachBlock(source, blockCells) { start, rows in
            for r in 0..<rows.rowCount {
                for e in rows.rowStarts[r]..<rows.rowStarts[r + 1] {
                    let value = rows.values[e]
                    guard value >= 0, value == value.rounded(), value < 4e9 else {
                        throw HarmonyError.invalidInput("\(source.origin): cell \(source.cellIDs[start + r]) has the non-count value \(value)")
                    }
                    appendDecimal(Int(rows.columns[e]) + 1, to: &line); line.append(32)
                    appendDecimal(start + r + 1, to: &line); line.append(32)
                    appendDecimal(Int(value), to: &line); line.append(10)
                }
            }
            try matrix.write(line)
            line.removeAll(keepingCapacity: true)
        }
        var features: [UInt8] = [], barcodes: [UInt8] = []
        for gene in source.genes { features.append(contentsOf: "\(gene.id)\t\(gene.name)\tGene Expression\n".utf8) }
        for id in source.cellIDs { barcodes.append(contentsOf: "\(id)\n".utf8) }
        var group = AtomicFileGroup()
        group.add(try Gzip.compress(features), to: "\(directory)/features.tsv.gz")
        group.add(try Gzip.compress(barcodes), to: "\(directory)/barcodes.tsv.gz")
        try matrix.commit()
        try group.commit()
    }

    private static func forEachBlock(_ source: any ExpressionSource, _ block: Int,
                                     _ body: (Int, SparseRows) throws -> Void) throws {
        var start = 0
        while start < source.cellCount {
            let end = min(source.cellCount, start + block)
            try body(start, try source.rows(start..<end))
            start = end
        }
    }

    /// Appends the decimal digits of a non-negative `value`.
    @inline(__always)
    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        var n = value, digits = 0
        repeat { digits += 1; n /= 10 } while n > 0
        let base = out.count
        out.append(contentsOf: repeatElement(48, count: digits))
        n = value
        for k in stride(from: base + digits - 1, through: base, by: -1) { out[k] = 48 + UInt8(n % 10); n /= 10 }
    }
}
