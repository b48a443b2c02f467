// MatrixMarket coordinate files as Cell Ranger writes them: genes x cells, 1-based, usually sorted by cell then
// gene but not necessarily. The text has no index to seek by cell, so it is read once into a CSR over cells. It is
// read in pieces of whole lines (`LineChunks`), the next piece inflated on a second thread while the current one is
// parsed, so the decompressed text is never held whole. Memory: 12 bytes per non-zero for the entries as read; when
// they come in cell order (as Cell Ranger writes them) they are the CSR, else a counting sort by cell needs 12 more.
// Larger matrices belong in .h5ad or 10x .h5, which are read in row blocks.
//
// While the entries come in cell order, each piece is also cut into parts of about `partBytes` at line ends, and
// the parts are parsed at once, on both threads (the one that inflates joins in when the next piece is ready).
// A part writes its entries where they belong if every line before it holds one entry (the producer counted the
// newlines of each part); the merge checks that, and that the parts continue the cell order, and otherwise parses
// the piece again line by line, as it always does for files out of cell order. Every error therefore comes from
// that one line-by-line parse, naming the right line, and the CSR does not depend on how the text was cut.

/// Reads MatrixMarket coordinate matrices (genes x cells) into a CSR over cells.
enum MatrixMarket {
    /// The matrix at `path` (plain or gzip), transposed to cells x genes, read in pieces of about `chunkBytes`,
    /// parsed in parts of about `partBytes` (the result does not depend on either).
    /// - Returns: the CSR over cells (its `columnCount` is the number of genes).
    /// - Throws: `.fileFormat` naming the file and line for anything but a real/integer/pattern general
    ///   coordinate matrix with in-range, finite entries.
    static func readCellsByGenes(_ path: String, chunkBytes: Int = 16 << 20, partBytes: Int = 1 << 20) throws -> SparseRows {
        let chunks = try LineChunks(path, chunkBytes: chunkBytes)
        var reader = EntryReader(path: path)
        let rest = try reader.readHeader(chunks)
        let shape = reader.shape
        // Left uninitialized: every entry is written once as it is read, and the pages of a large file are then
        // touched while the text streams in, not all up front. `cells` is written only once the entries leave
        // cell order, so for a file in cell order its pages are never touched at all.
        var genes: [Int32] = uninitialized(shape.entries), cells: [Int32] = uninitialized(shape.entries)
        var values: [Float] = shape.pattern ? [Float](repeating: 1, count: shape.entries) : uninitialized(shape.entries)
        var perCell = [Int](repeating: 0, count: shape.cells + 1)
        try genes.withUnsafeMutableBufferPointer { genes in
        try cells.withUnsafeMutableBufferPointer { cells in
        try values.withUnsafeMutableBufferPointer { values in
        try perCell.withUnsafeMutableBufferPointer { perCell in
        try rest.withUnsafeBufferPointer { rest in
            let out = Entries(genes: genes, cells: cells, values: values, perCell: perCell)
            var first: UnsafeBufferPointer<CChar>? = rest
            try TaskRunner(requested: 2).pipeline({ () -> Piece? in
                if let text = first {
                    first = nil
                    return Piece(text, partBytes: partBytes)
                }
                return try chunks.next().map {
                    Piece(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                                              count: $0.count), partBytes: partBytes)
                }
            }, parts: { piece in
                // In parallel while the entries keep to cell order; else line by line, in one part.
                piece.parallel = reader.byCell && piece.partCount > 1
                guard piece.parallel else { return 1 }
                piece.plan(firstEntry: reader.read)
                return piece.partCount
            }, { piece, k in
                if piece.parallel {
                    piece.results[k] = MatrixMarket.parsePart(piece, k, shape: shape, into: out)
                } else {
                    try reader.readEntries(piece.text, into: out)
                }
            }, merge: { piece in
                if piece.parallel { try reader.merge(piece, into: out) }
            })
        }}}}}
        return try reader.finish(genes: &genes, cells: &cells, values: &values, perCell: &perCell)
    }

    /// The size line and the kind of values.
    struct Shape: Sendable {
        var genes = 0, cells = 0, entries = 0
        var pattern = false, integers = false
    }

    /// Where the entries go, in file order, and per cell c the count at perCell[c + 1] (the arrays of
    /// `readCellsByGenes`, for the duration of the read).
    struct Entries {
        let genes: UnsafeMutableBufferPointer<Int32>
        let cells: UnsafeMutableBufferPointer<Int32>
        let values: UnsafeMutableBufferPointer<Float>
        let perCell: UnsafeMutableBufferPointer<Int>
    }

    /// What is wrong with an entry line, if anything.
    enum EntryProblem { case none, gene, cell, value, trailing }

    /// The parse, one piece of whole lines (NUL-terminated) at a time.
    struct EntryReader {
        let path: String
        // Newlines passed so far: the line of an error is one more.
        var lines = 0
        var shape = Shape()
        // Entries read so far.
        var read = 0
        // The largest cell index so far, and whether the entries came in order of cell (as Cell Ranger writes
        // them): then they already are the CSR, and no sort is needed.
        var lastCell = 0, byCell = true
        // The gene of the last entry, and whether the genes of each cell so far came in increasing order (as Cell
        // Ranger writes them): then, in cell order, the CSR needs no further check.
        var lastGene = 0, ascending = true

        init(path: String) { self.path = path }

        func fail(_ what: String) -> HarmonyError { .fileFormat("\(path), line \(lines + 1): \(what)") }

        /// Reads pieces until the size line has come; returns the text after it (NUL-terminated).
        mutating func readHeader(_ chunks: LineChunks) throws -> [CChar] {
            // Until the size line has come, the header is parsed again from all the text so far.
            var text: [CChar] = []
            while let piece = try chunks.next() {
                piece.withMemoryRebound(to: CChar.self) { text.append(contentsOf: $0.dropLast()) }
                text.append(0)
                let after = try text.withUnsafeBufferPointer { text -> Int? in
                    var p = text.baseAddress!
                    let linesBefore = lines
                    guard try readHeader(&p) else {
                        lines = linesBefore
                        return nil
                    }
                    return p - text.baseAddress!
                }
                if let after { return Array(text[after...]) }
                text.removeLast()
            }
            throw fail("expected the size line 'genes cells entries'")
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
            guard sizes[0] < Int(Int32.max), sizes[1] < Int(Int32.max) else { throw fail("the matrix is too large") }
            // The end of the size line too, so that the text left starts with an entry line (as parts expect).
            while p.pointee == 32 || p.pointee == 9 || p.pointee == 13 { p += 1 }
            if p.pointee == 10 {
                lines += 1
                p += 1
            }
            shape = Shape(genes: sizes[0], cells: sizes[1], entries: sizes[2], pattern: field == "pattern",
                          integers: field == "integer")
            return true
        }

        /// The entry lines of a piece, one by one; after the last declared entry, only blank space may follow.
        mutating func readEntries(_ text: UnsafeBufferPointer<CChar>, into out: Entries) throws {
            let shape = shape
            var p = text.baseAddress!
            let end = p + text.count
            var e = read, lines = lines, lastCell = lastCell, byCell = byCell, lastGene = lastGene, ascending = ascending
            defer {
                (read, self.lines, self.lastCell, self.byCell) = (e, lines, lastCell, byCell)
                (self.lastGene, self.ascending) = (lastGene, ascending)
            }
            func fail(_ what: String) -> HarmonyError { .fileFormat("\(path), line \(lines + 1): \(what)") }
            var g = 0, c = 0, v: Float = 1
            while true {
                MatrixMarket.skipSpace(&p, lines: &lines)
                guard p.pointee != 0 else { return }
                guard e < shape.entries else { throw fail("more entries than the \(shape.entries) the size line declares") }
                switch MatrixMarket.entry(&p, before: end, shape, gene: &g, cell: &c, value: &v) {
                case .none: break
                case .gene: throw fail("expected a gene index in 1...\(shape.genes)")
                case .cell: throw fail("expected a cell index in 1...\(shape.cells)")
                case .value: throw fail("expected a finite value")
                case .trailing: throw fail("unexpected text after the entry")
                }
                out.genes[e] = Int32(g - 1)
                if !shape.pattern { out.values[e] = v }
                if byCell && c < lastCell {
                    // The first entry out of cell order: the cells of those before it follow from the counts per
                    // cell, as they came in order.
                    byCell = false
                    var before = 0
                    for cell in 1...lastCell {
                        for _ in 0..<out.perCell[cell] { out.cells[before] = Int32(cell - 1); before += 1 }
                    }
                }
                if !byCell { out.cells[e] = Int32(c - 1) }
                if c == lastCell && g <= lastGene { ascending = false }
                out.perCell[c] += 1
                lastCell = c
                lastGene = g
                e += 1
            }
        }

        /// Takes the parts of a piece parsed in parallel, or parses the piece again line by line when a part met
        /// anything else than what it could handle alone (see the file's header).
        mutating func merge(_ piece: Piece, into out: Entries) throws {
            let parts = piece.results, last = parts.count - 1
            var clean = true, cell = lastCell, gene = lastGene, increasing = ascending
            for k in 0...last {
                let part = parts[k]
                // Part k + 1 started where k's newlines said: right only if each of k's lines held one entry.
                clean = clean && part.clean && part.lines == piece.newlines[k] && (k == last || part.entries == part.lines)
                if let first = part.runs.first, let final = part.runs.last {
                    clean = clean && first.cell >= cell
                    increasing = increasing && part.ascending && (first.cell > cell || part.firstGene > gene)
                    (cell, gene) = (final.cell, part.lastGene)
                }
            }
            guard clean else { return try readEntries(piece.text, into: out) }
            for part in parts {
                for run in part.runs { out.perCell[run.cell] += run.count }
                read += part.entries
                lines += part.lines
            }
            (lastCell, lastGene, ascending) = (cell, gene, increasing)
        }

        /// The CSR over cells, once every piece was read.
        func finish(genes: inout [Int32], cells: inout [Int32], values: inout [Float], perCell: inout [Int]) throws -> SparseRows {
            let (geneCount, cellCount, entryCount) = (shape.genes, shape.cells, shape.entries)
            guard read == entryCount else { throw fail("the file ends after \(read) of its \(entryCount) entries (truncated)") }
            for c in 0..<cellCount { perCell[c + 1] += perCell[c] }
            if byCell {
                let (columns, sorted) = (genes, values)
                (genes, cells, values) = ([], [], [])
                // Gene indices were checked as they were read; in increasing order per cell, this is the CSR.
                if ascending { return SparseRows(unchecked: geneCount, rowStarts: perCell, columns: columns, values: sorted) }
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

    /// One entry line at `p` (after its leading blanks): gene and cell index (1-based) and value (left alone for a
    /// pattern matrix); `p` is left at the line's end. The value never reaches into the next line.
    @inline(__always)
    static func entry(_ p: inout UnsafePointer<CChar>, before end: UnsafePointer<CChar>, _ shape: Shape,
                      gene: inout Int, cell: inout Int, value: inout Float) -> EntryProblem {
        if shape.integers, let length = plainEntry(p, before: end, shape, gene: &gene, cell: &cell, value: &value) {
            p += length
            return .none
        }
        guard let g = parseCount(&p, before: end), g >= 1, g <= shape.genes else { return .gene }
        skipBlanks(&p)
        guard let c = parseCount(&p, before: end), c >= 1, c <= shape.cells else { return .cell }
        if !shape.pattern {
            skipBlanks(&p)
            let start = p
            // Counts are plain digits: read them as integers (up to 2^24 exactly as Float); anything else (a sign, a
            // fraction, an exponent) goes through the decimal parser, which must not skip a line end as white space.
            if shape.integers, let v = parseCount(&p, before: end), v < 1 << 24,
               p.pointee == 10 || p.pointee == 13 || p.pointee == 32 || p.pointee == 9 || p.pointee == 0 {
                value = Float(v)
            } else {
                p = start
                guard p.pointee != 10 && p.pointee != 13 else { return .value }
                let (v, after) = DecimalParser.parse(p)
                guard after != p, v.isFinite else { return .value }
                value = Float(v)
                p = after
            }
        }
        skipBlanks(&p)
        guard p.pointee == 10 || p.pointee == 13 || p.pointee == 0 else { return .trailing }
        gene = g
        cell = c
        return .none
    }

    /// `entry` for the line Cell Ranger writes: three counts of 1 to 8 digits, single spaces, a newline, within 24
    /// bytes (a 10x matrix's lines take 8 to 20). Returns
    /// the length up to the newline, or nil (nothing set) for any other line, which `entry` then reads its general
    /// way. Finding the three ends at once (one mask of the non-digits of 24 bytes) keeps the parse of one number
    /// from waiting for the end of the one before, which is most of the cost of reading them one after the other.
    @inline(__always)
    static func plainEntry(_ p: UnsafePointer<CChar>, before end: UnsafePointer<CChar>, _ shape: Shape,
                           gene: inout Int, cell: inout Int, value: inout Float) -> Int? {
        // 32 readable bytes: the mask covers 24, and each number is read as the 8 bytes from its start.
        guard end - p >= 32 else { return nil }
        let raw = UnsafeRawPointer(p)
        let words = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                     raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        // Bit k set when byte k is not a digit.
        var stops = nonDigitBits(UInt64(littleEndian: words.0)) | nonDigitBits(UInt64(littleEndian: words.1)) << 8
            | nonDigitBits(UInt64(littleEndian: words.2)) << 16
        let geneEnd = stops.trailingZeroBitCount
        stops &= stops &- 1
        let cellEnd = stops.trailingZeroBitCount
        stops &= stops &- 1
        let valueEnd = stops.trailingZeroBitCount
        guard valueEnd < 24, p[geneEnd] == 32, p[cellEnd] == 32, p[valueEnd] == 10,
              geneEnd >= 1, geneEnd <= 8, cellEnd - geneEnd >= 2, cellEnd - geneEnd <= 9,
              valueEnd - cellEnd >= 2, valueEnd - cellEnd <= 9 else { return nil }
        let g = digitsValue(raw, 0, geneEnd)
        let c = digitsValue(raw, geneEnd + 1, cellEnd - geneEnd - 1)
        let v = digitsValue(raw, cellEnd + 1, valueEnd - cellEnd - 1)
        guard g >= 1, g <= shape.genes, c >= 1, c <= shape.cells, v < 1 << 24 else { return nil }
        gene = g
        cell = c
        value = Float(v)
        return valueEnd
    }

    // One bit per byte of `word` (bit k for the k-th byte in memory), set when the byte is not an ASCII digit.
    @inline(__always)
    private static func nonDigitBits(_ word: UInt64) -> UInt64 {
        // Bit 8k + 7 -> bit 56 + k: the multiplier's terms put each byte's bit at a distinct place (no carries).
        ((nonDigitTopBits(word) >> 7) &* 0x0102_0408_1020_4080) >> 56
    }

    // The top bit of each byte of `word` that is not an ASCII digit.
    @inline(__always)
    private static func nonDigitTopBits(_ word: UInt64) -> UInt64 {
        // Per byte, with no carry between bytes: a digit is 0x30-0x39, i.e. high nibble 3 and low nibble + 6 < 16.
        let highNibble = (word & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030
        let lowNibble = ((word & 0x0F0F_0F0F_0F0F_0F0F) &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
        let other = highNibble | lowNibble
        return (((other & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | other) & 0x8080_8080_8080_8080
    }

    // The value of the `count` (1...8) digits at `offset`, eight bytes read from there.
    @inline(__always)
    private static func digitsValue(_ raw: UnsafeRawPointer, _ offset: Int, _ count: Int) -> Int {
        digitsValue(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)), count)
    }

    /// The value of the first `count` (1...7, or 8) digit bytes of `word` (memory order, little-endian).
    @inline(__always)
    static func digitsValue(_ word: UInt64, _ count: Int) -> Int {
        // The digits moved to the top bytes (the first, most significant, digit at the lowest byte, as memory
        // order has it), zeros below them, then pairs, quads and the eight combined by three multiplications.
        var v = (word & 0x0F0F_0F0F_0F0F_0F0F) << UInt64(64 - 8 * count)
        v = (v &* 2561) >> 8
        v = ((v & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        v = ((v & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
        return Int(v)
    }

    private static func uninitialized<T: BitwiseCopyable>(_ count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
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
        // The first byte that is not a digit ends the number.
        let digits = nonDigitTopBits(word).trailingZeroBitCount >> 3
        guard digits > 0 else { return nil }
        guard digits < 8 else { return parseCount(&p) }
        p += digits
        return digitsValue(word, digits)
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
