// MatrixMarket coordinate files as Cell Ranger writes them: genes x cells, 1-based, usually sorted by cell then
// gene but not necessarily. The text has no index to seek by cell, so it is read once, whole, into a CSR over
// cells. Memory: the decompressed text, plus 12 bytes per non-zero for the entries as read and 12 for the CSR
// (28 bytes per non-zero with the text at ~8 bytes an entry): about 3 GB for 100M non-zeros, the scale of ~70k
// cells. Larger matrices belong in .h5ad or 10x .h5, which are read in row blocks.

/// Reads MatrixMarket coordinate matrices (genes x cells) into a CSR over cells.
enum MatrixMarket {
    /// The matrix at `path` (plain or gzip), transposed to cells x genes.
    /// - Returns: the CSR over cells (its `columnCount` is the number of genes).
    /// - Throws: `.fileFormat` naming the file and line for anything but a real/integer/pattern general
    ///   coordinate matrix with in-range, finite entries.
    static func readCellsByGenes(_ path: String) throws -> SparseRows {
        var text = try FileBytes.read(path)
        text.append(0)
        return try text.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try parse($0, path: path) }
        }
    }

    private static func parse(_ text: UnsafeBufferPointer<CChar>, path: String) throws -> SparseRows {
        let base = text.baseAddress!
        func line(at p: UnsafePointer<CChar>) -> Int { 1 + UnsafeBufferPointer(start: base, count: p - base).lazy.filter { $0 == 10 }.count }
        func fail(_ p: UnsafePointer<CChar>, _ what: String) -> HarmonyError {
            .fileFormat("\(path), line \(line(at: p)): \(what)")
        }
        // Header: %%MatrixMarket matrix coordinate <field> <symmetry>
        var p = base
        var end = p
        while end.pointee != 10 && end.pointee != 0 { end += 1 }
        let header = String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self),
                                                          count: end - p), as: UTF8.self)
            .lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        guard header.count == 5, header[0] == "%%matrixmarket", header[1] == "matrix" else {
            throw fail(p, "not a MatrixMarket file (the first line must be '%%MatrixMarket matrix coordinate ...')")
        }
        guard header[2] == "coordinate" else { throw fail(p, "only 'coordinate' (sparse) MatrixMarket files are read") }
        let field = header[3]
        guard ["integer", "real", "double", "pattern"].contains(field) else {
            throw fail(p, "values of type '\(field)' are not read (integer, real or pattern)")
        }
        guard header[4] == "general" else { throw fail(p, "only 'general' matrices are read, not '\(header[4])'") }
        let pattern = field == "pattern"
        p = end
        // Comment lines, then the size line.
        while p.pointee == 10 || p.pointee == 13 || p.pointee == 37 {   // '\n' '\r' '%'
            if p.pointee == 37 { while p.pointee != 10 && p.pointee != 0 { p += 1 } } else { p += 1 }
        }
        var sizes = [Int](repeating: 0, count: 3)
        for k in 0..<3 {
            skipBlanks(&p)
            guard let v = parseCount(&p) else { throw fail(p, "expected the size line 'genes cells entries'") }
            sizes[k] = v
        }
        let (geneCount, cellCount, entryCount) = (sizes[0], sizes[1], sizes[2])
        guard geneCount < Int(Int32.max), cellCount < Int(Int32.max) else { throw fail(p, "the matrix is too large") }
        var genes = [Int32](repeating: 0, count: entryCount)
        var cells = [Int32](repeating: 0, count: entryCount)
        var values = [Float](repeating: 1, count: entryCount)
        var perCell = [Int](repeating: 0, count: cellCount + 1)
        let integers = field == "integer"
        // The entries are written through buffer pointers: this loop runs once per stored value of the file.
        try genes.withUnsafeMutableBufferPointer { genes in
            try cells.withUnsafeMutableBufferPointer { cells in
                try values.withUnsafeMutableBufferPointer { values in
                    try perCell.withUnsafeMutableBufferPointer { perCell in
                        for e in 0..<entryCount {
                            skipSpace(&p)
                            guard p.pointee != 0 else { throw fail(p, "the file ends after \(e) of its \(entryCount) entries (truncated)") }
                            guard let g = parseCount(&p), g >= 1, g <= geneCount else {
                                throw fail(p, "expected a gene index in 1...\(geneCount)")
                            }
                            skipBlanks(&p)
                            guard let c = parseCount(&p), c >= 1, c <= cellCount else {
                                throw fail(p, "expected a cell index in 1...\(cellCount)")
                            }
                            if !pattern {
                                skipBlanks(&p)
                                let start = p
                                // Counts are plain digits: read them as integers (up to 2^24 exactly as Float);
                                // anything else (a sign, a fraction, an exponent) goes through the decimal parser.
                                if integers, let v = parseCount(&p), v < 1 << 24, p.pointee == 10 || p.pointee == 13 || p.pointee == 32 || p.pointee == 9 || p.pointee == 0 {
                                    values[e] = Float(v)
                                } else {
                                    p = start
                                    let (v, after) = DecimalParser.parse(p)
                                    guard after != p, v.isFinite else { throw fail(p, "expected a finite value") }
                                    values[e] = Float(v)
                                    p = after
                                }
                            }
                            skipBlanks(&p)
                            guard p.pointee == 10 || p.pointee == 13 || p.pointee == 0 else { throw fail(p, "unexpected text after the entry") }
                            genes[e] = Int32(g - 1)
                            cells[e] = Int32(c - 1)
                            perCell[c] += 1
                        }
                    }
                }
            }
        }
        skipSpace(&p)
        guard p.pointee == 0 else { throw fail(p, "more entries than the \(entryCount) the size line declares") }
        // Counting sort by cell; stable, so a file sorted by gene within cell (or by gene overall) stays sorted.
        for c in 0..<cellCount { perCell[c + 1] += perCell[c] }
        var cursor = perCell
        var columns = [Int32](repeating: 0, count: entryCount)
        var sortedValues = [Float](repeating: 0, count: entryCount)
        columns.withUnsafeMutableBufferPointer { columns in
            sortedValues.withUnsafeMutableBufferPointer { sortedValues in
                for e in 0..<entryCount {
                    let c = Int(cells[e])
                    columns[cursor[c]] = genes[e]
                    sortedValues[cursor[c]] = values[e]
                    cursor[c] += 1
                }
            }
        }
        genes = []
        cells = []
        values = []
        return try SparseRows(storedRowStarts: perCell, columns: columns, values: sortedValues,
                              columns: ColumnMap(all: geneCount), origin: path, firstRow: 0)
    }

    @inline(__always) private static func skipBlanks(_ p: inout UnsafePointer<CChar>) {
        while p.pointee == 32 || p.pointee == 9 { p += 1 }
    }

    @inline(__always) private static func skipSpace(_ p: inout UnsafePointer<CChar>) {
        while p.pointee == 32 || p.pointee == 9 || p.pointee == 10 || p.pointee == 13 { p += 1 }
    }

    /// A non-negative decimal integer, or nil when there is none (or it has more than 18 digits).
    @inline(__always) private static func parseCount(_ p: inout UnsafePointer<CChar>) -> Int? {
        var v = 0, digits = 0
        while p.pointee >= 48 && p.pointee <= 57 && digits < 19 {
            v = v * 10 + Int(p.pointee - 48)
            p += 1
            digits += 1
        }
        return digits == 0 || digits == 19 ? nil : v
    }
}
