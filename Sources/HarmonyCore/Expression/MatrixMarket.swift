// MatrixMarket coordinate files as Cell Ranger writes them: genes x cells, 1-based, usually sorted by cell then
// gene but not necessarily. The text has no index to seek by cell, so it is read once into a CSR over cells. It is
// read in pieces of whole lines (`LineChunks`), the next piece inflated on a second thread while the current one is
// parsed, so the decompressed text is never held whole. Memory: 12 bytes per non-zero for the entries as read; when
// they come in cell order (as Cell Ranger writes them) they are the CSR, else a counting sort by cell needs 12 more.
// Larger matrices belong in .h5ad or 10x .h5, which are read in row blocks.

/// Reads MatrixMarket coordinate matrices (genes x cells) into a CSR over cells.
enum MatrixMarket {
    /// The matrix at `path` (plain or gzip), transposed to cells x genes, read in pieces of about `chunkBytes`.
    /// - Returns: the CSR over cells (its `columnCount` is the number of genes).
    /// - Throws: `.fileFormat` naming the file and line for anything but a real/integer/pattern general
    ///   coordinate matrix with in-range, finite entries.
    static func readCellsByGenes(_ path: String, chunkBytes: Int = 16 << 20) throws -> SparseRows {
        let chunks = try LineChunks(path, chunkBytes: chunkBytes)
        var entries = EntryReader(path: path)
        try TaskRunner(requested: 2).pipeline(chunks.next) { piece in
            try piece.withMemoryRebound(to: CChar.self) { try entries.consume($0) }
        }
        return try entries.finish()
    }

    /// The parse, one piece of whole lines (NUL-terminated) at a time.
    private struct EntryReader {
        let path: String
        // Newlines passed so far: the line of an error is one more.
        var lines = 0
        var headerRead = false
        var pattern = false, integers = false
        var geneCount = 0, cellCount = 0, entryCount = 0
        // Entries read so far, in file order, and per cell c the count at perCell[c + 1].
        var read = 0
        var genes: [Int32] = [], cells: [Int32] = [], values: [Float] = []
        var perCell: [Int] = []
        // The largest cell index so far, and whether the entries came in order of cell (as Cell Ranger writes
        // them): then they already are the CSR, and no sort is needed.
        var lastCell = 0, byCell = true
        // The pieces read before the size line (all the text so far), while the header is incomplete.
        var header: [CChar] = []

        init(path: String) { self.path = path }

        func fail(_ what: String) -> HarmonyError { .fileFormat("\(path), line \(lines + 1): \(what)") }

        /// Parses every line of a piece (whole lines, then a NUL).
        mutating func consume(_ piece: UnsafeBufferPointer<CChar>) throws {
            guard !headerRead else {
                var p = piece.baseAddress!
                return try readEntries(&p, before: p + piece.count)
            }
            // Until the size line has come, the header is parsed again from all the text so far.
            header.append(contentsOf: piece.dropLast())
            header.append(0)
            let text = header, linesBefore = lines
            try text.withUnsafeBufferPointer { text in
                var p = text.baseAddress!
                guard try readHeader(&p) else {
                    lines = linesBefore
                    return
                }
                try readEntries(&p, before: text.baseAddress! + text.count)
            }
            header.removeLast()
            if headerRead { header = [] }
        }

        // Header: %%MatrixMarket matrix coordinate <field> <symmetry>, comment lines, then the size line. False when
        // the text ends before the size line.
        private mutating func readHeader(_ p: inout UnsafePointer<CChar>) throws -> Bool {
            var end = p
            while end.pointee != 10 && end.pointee != 0 { end += 1 }
            let header = String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self),
                                                              count: end - p), as: UTF8.self)
                .lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard header.count == 5, header[0] == "%%matrixmarket", header[1] == "matrix" else {
                throw fail("not a MatrixMarket file (the first line must be '%%MatrixMarket matrix coordinate ...')")
            }
            guard header[2] == "coordinate" else { throw fail("only 'coordinate' (sparse) MatrixMarket files are read") }
            let field = header[3]
            guard ["integer", "real", "double", "pattern"].contains(field) else {
                throw fail("values of type '\(field)' are not read (integer, real or pattern)")
            }
            guard header[4] == "general" else { throw fail("only 'general' matrices are read, not '\(header[4])'") }
            pattern = field == "pattern"
            integers = field == "integer"
            p = end
            // Comment lines, then the size line.
            while p.pointee == 10 || p.pointee == 13 || p.pointee == 37 {   // '\n' '\r' '%'
                if p.pointee == 37 { while p.pointee != 10 && p.pointee != 0 { p += 1 } } else {
                    if p.pointee == 10 { lines += 1 }
                    p += 1
                }
            }
            MatrixMarket.skipBlanks(&p)
            if p.pointee == 0 { return false }
            var sizes = [Int](repeating: 0, count: 3)
            for k in 0..<3 {
                MatrixMarket.skipBlanks(&p)
                guard let v = MatrixMarket.parseCount(&p) else { throw fail("expected the size line 'genes cells entries'") }
                sizes[k] = v
            }
            (geneCount, cellCount, entryCount) = (sizes[0], sizes[1], sizes[2])
            guard geneCount < Int(Int32.max), cellCount < Int(Int32.max) else { throw fail("the matrix is too large") }
            // Left uninitialized: every entry is written once as it is read, and the pages of a large file are then
            // touched while the text streams in, not all up front. `cells` is written only once the entries leave
            // cell order, so for a file in cell order its pages are never touched at all.
            genes = Self.uninitialized(entryCount)
            cells = Self.uninitialized(entryCount)
            values = pattern ? [Float](repeating: 1, count: entryCount) : Self.uninitialized(entryCount)
            perCell = [Int](repeating: 0, count: cellCount + 1)
            headerRead = true
            return true
        }

        // The entry lines of the rest of the piece; after the last declared entry, only blank space may follow.
        private mutating func readEntries(_ p: inout UnsafePointer<CChar>, before end: UnsafePointer<CChar>) throws {
            let (geneCount, cellCount, entryCount, pattern, integers) = (geneCount, cellCount, entryCount, pattern, integers)
            var e = read, lines = lines, lastCell = lastCell, byCell = byCell
            defer { (read, self.lines, self.lastCell, self.byCell) = (e, lines, lastCell, byCell) }
            // The entries are written through buffer pointers: this loop runs once per stored value of the file.
            try genes.withUnsafeMutableBufferPointer { genes in
                try cells.withUnsafeMutableBufferPointer { cells in
                    try values.withUnsafeMutableBufferPointer { values in
                        try perCell.withUnsafeMutableBufferPointer { perCell in
                            func fail(_ what: String) -> HarmonyError { .fileFormat("\(path), line \(lines + 1): \(what)") }
                            while true {
                                MatrixMarket.skipSpace(&p, lines: &lines)
                                guard p.pointee != 0 else { return }
                                guard e < entryCount else { throw fail("more entries than the \(entryCount) the size line declares") }
                                guard let g = MatrixMarket.parseCount(&p, before: end), g >= 1, g <= geneCount else {
                                    throw fail("expected a gene index in 1...\(geneCount)")
                                }
                                MatrixMarket.skipBlanks(&p)
                                guard let c = MatrixMarket.parseCount(&p, before: end), c >= 1, c <= cellCount else {
                                    throw fail("expected a cell index in 1...\(cellCount)")
                                }
                                if !pattern {
                                    MatrixMarket.skipBlanks(&p)
                                    let start = p
                                    // Counts are plain digits: read them as integers (up to 2^24 exactly as Float);
                                    // anything else (a sign, a fraction, an exponent) goes through the decimal parser.
                                    if integers, let v = MatrixMarket.parseCount(&p, before: end), v < 1 << 24,
                                       p.pointee == 10 || p.pointee == 13 || p.pointee == 32 || p.pointee == 9 || p.pointee == 0 {
                                        values[e] = Float(v)
                                    } else {
                                        p = start
                                        let (v, after) = DecimalParser.parse(p)
                                        guard after != p, v.isFinite else { throw fail("expected a finite value") }
                                        values[e] = Float(v)
                                        p = after
                                    }
                                }
                                MatrixMarket.skipBlanks(&p)
                                guard p.pointee == 10 || p.pointee == 13 || p.pointee == 0 else { throw fail("unexpected text after the entry") }
                                genes[e] = Int32(g - 1)
                                if byCell && c < lastCell {
                                    // The first entry out of cell order: the cells of those before it follow from
                                    // the counts per cell, as they came in order.
                                    byCell = false
                                    var before = 0
                                    for cell in 1...lastCell {
                                        for _ in 0..<perCell[cell] { cells[before] = Int32(cell - 1); before += 1 }
                                    }
                                }
                                if !byCell { cells[e] = Int32(c - 1) }
                                perCell[c] += 1
                                lastCell = c
                                e += 1
                            }
                        }
                    }
                }
            }
        }

        private static func uninitialized<T: BitwiseCopyable>(_ count: Int) -> [T] {
            [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        }

        /// The CSR over cells, once every piece was consumed.
        mutating func finish() throws -> SparseRows {
            guard headerRead else { throw fail("expected the size line 'genes cells entries'") }
            guard read == entryCount else { throw fail("the file ends after \(read) of its \(entryCount) entries (truncated)") }
            for c in 0..<cellCount { perCell[c + 1] += perCell[c] }
            if byCell {
                let (columns, sorted) = (genes, values)
                (genes, cells, values) = ([], [], [])
                return try SparseRows(storedRowStarts: perCell, columns: columns, values: sorted,
                                      columns: ColumnMap(all: geneCount), origin: path, firstRow: 0)
            }
            // Counting sort by cell; stable, so a file sorted by gene within cell (or by gene overall) stays sorted.
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
    }

    @inline(__always) static func skipBlanks(_ p: inout UnsafePointer<CChar>) {
        while p.pointee == 32 || p.pointee == 9 { p += 1 }
    }

    // Blanks and line ends, counting the newlines.
    @inline(__always) static func skipSpace(_ p: inout UnsafePointer<CChar>, lines: inout Int) {
        while p.pointee == 32 || p.pointee == 9 || p.pointee == 10 || p.pointee == 13 {
            if p.pointee == 10 { lines += 1 }
            p += 1
        }
    }

    /// `parseCount`, eight bytes at a time when at least eight can be read before `end`. An entry line is three
    /// short numbers, so reading them byte by byte was most of the parse.
    @inline(__always) static func parseCount(_ p: inout UnsafePointer<CChar>, before end: UnsafePointer<CChar>) -> Int? {
        guard end - p >= 8 else { return parseCount(&p) }
        let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        // Per byte, with no carry between bytes: a digit is 0x30-0x39, i.e. high nibble 3 and low nibble + 6 < 16.
        let highNibble = (word & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030
        let lowNibble = ((word & 0x0F0F_0F0F_0F0F_0F0F) &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
        let other = highNibble | lowNibble
        // The top bit of each byte that is not a digit; the first such byte ends the number.
        let stops = (((other & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | other) & 0x8080_8080_8080_8080
        let digits = stops.trailingZeroBitCount >> 3
        guard digits > 0 else { return nil }
        guard digits < 8 else { return parseCount(&p) }
        // The digits moved to the top bytes (the first, most significant, digit at the lowest byte, as memory
        // order has it), zeros below them, then pairs, quads and the eight combined by three multiplications.
        var v = (word & 0x0F0F_0F0F_0F0F_0F0F) << UInt64(64 - 8 * digits)
        v = (v &* 2561) >> 8
        v = ((v & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        v = ((v & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
        p += digits
        return Int(v)
    }

    /// A non-negative decimal integer, or nil when there is none (or it has more than 18 digits).
    @inline(__always) static func parseCount(_ p: inout UnsafePointer<CChar>) -> Int? {
        var v = 0, digits = 0
        // At most 18 digits, so the wrapping operations never wrap (and need no overflow check per byte).
        while p.pointee >= 48 && p.pointee <= 57 && digits < 19 {
            v = v &* 10 &+ Int(p.pointee &- 48)
            p += 1
            digits &+= 1
        }
        return digits == 0 || digits == 19 ? nil : v
    }
}
