#if canImport(Glibc)
import Glibc
#endif

// Parses a delimited text embedding straight from its bytes: numbers go through DecimalParser (strtod's
// correctly rounded results, with a fast path) on the NUL-terminated buffer (no String per field); only the cell ids become Strings. Lines are parsed in fixed
// chunks on all cores; every chunk writes its own rows, so the result does not depend on the thread count.
// When several chunks fail, the error of the earliest line wins, as in a sequential parse.

/// The fast reader behind `Embedding.read` for `.tsv`, `.csv` and `.txt` files (optionally gzip-compressed).
struct EmbeddingTextParser {
    /// The file name, for messages.
    let path: String
    /// Field separator byte.
    let separator: UInt8

    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let quote = UInt8(ascii: "\"")

    /// Parses `bytes` (the whole file, decompressed). A NUL byte is appended so strtod never runs off the end.
    func parse(_ bytes: inout [UInt8]) throws -> Embedding {
        bytes.append(0)
        let lines = lineRanges(bytes)
        guard let headerLine = lines.first else {
            throw HarmonyError.fileFormat("\(path): the file is empty (expected a header row)")
        }
        var header = DelimitedTable.splitFields(bytes[headerLine.start..<headerLine.end], separator: separator)
        // R's write.table writes no header field above the row names: accept a header one field short of the
        // first data line and name the id column "cell_id".
        if lines.count > 1 {
            let first = lines[1]
            let fields = 1 + bytes[first.start..<first.end].reduce(0) { $0 + ($1 == separator ? 1 : 0) }
            if fields == header.count + 1 { header.insert("cell_id", at: 0) }
        }
        guard header.count >= 2 else {
            throw HarmonyError.fileFormat(
                "\(path), line 1: the header has \(header.count) column(s); expected a cell id column and at least one dimension")
        }
        let dims = header.count - 1
        let rows = lines.count - 1
        var values = [Double](repeating: 0, count: rows * dims)
        var ids = [String](repeating: "", count: rows)
        let chunkCount = max(1, min(64, rows / 2048))
        var errors = [HarmonyError?](repeating: nil, count: chunkCount)
        bytes.withUnsafeBufferPointer { buf in
            values.withUnsafeMutableBufferPointer { out in
                ids.withUnsafeMutableBufferPointer { idOut in
                    errors.withUnsafeMutableBufferPointer { errOut in
                        let base = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
                        TaskRunner(requested: 0).run(chunkCount) { chunk in
                            let lo = 1 + chunk * rows / chunkCount, hi = 1 + (chunk + 1) * rows / chunkCount
                            do {
                                for li in lo..<hi {
                                    idOut[li - 1] = try parseLine(base, lines[li], header: header,
                                                                  into: out.baseAddress! + (li - 1) * dims)
                                }
                            } catch {
                                errOut[chunk] = error as? HarmonyError
                            }
                        }
                    }
                }
            }
        }
        if let first = errors.lazy.compactMap({ $0 }).first { throw first }
        let embedding = Embedding(path: path, ids: ids, columnNames: Array(header.dropFirst()),
                                  values: Matrix(rows: rows, cols: dims, values: values),
                                  lineNumbers: lines.dropFirst().map { $0.number })
        try embedding.checkUniqueIds()
        return embedding
    }

    /// A line's byte range (without the newline and a trailing carriage return) and its 1-based number.
    struct LineRange {
        var start: Int
        var end: Int
        var number: Int
    }

    /// The non-blank lines of the file (the last byte of `bytes` is the appended NUL).
    func lineRanges(_ bytes: [UInt8]) -> [LineRange] {
        var out: [LineRange] = []
        out.reserveCapacity(bytes.count / 64)
        bytes.withUnsafeBufferPointer { buf in
            let n = buf.count - 1
            var start = 0, number = 1
            while start < n {
                var end = start
                if let hit = memchr(buf.baseAddress! + start, Int32(Self.newline), n - start) {
                    end = buf.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                } else {
                    end = n
                }
                var trimmed = end
                if trimmed > start && buf[trimmed - 1] == Self.carriageReturn { trimmed -= 1 }
                if trimmed > start { out.append(LineRange(start: start, end: trimmed, number: number)) }
                start = end + 1
                number += 1
            }
        }
        return out
    }

    /// Parses one data line: returns the cell id and stores `header.count - 1` numbers at `row`.
    private func parseLine(_ base: UnsafePointer<CChar>, _ line: LineRange, header: [String],
                           into row: UnsafeMutablePointer<Double>) throws -> String {
        let sep = CChar(bitPattern: separator)
        let lineEnd = base + line.end
        var p = base + line.start
        while p < lineEnd && p.pointee != sep { p += 1 }
        let id = unquotedText(base + line.start, p)
        if id.isEmpty {
            throw HarmonyError.fileFormat("\(path), line \(line.number), column 1 (\(header[0])): missing cell id")
        }
        let dims = header.count - 1
        for c in 0..<dims {
            guard p < lineEnd else { throw raggedRow(base, line, header: header) }
            p += 1
            var fieldStart = p
            var quoted = false
            if p < lineEnd && p.pointee == CChar(bitPattern: Self.quote) { quoted = true; fieldStart += 1 }
            let (v, numberEnd) = DecimalParser.parse(fieldStart)
            var q = numberEnd
            if quoted && q < lineEnd && q.pointee == CChar(bitPattern: Self.quote) { q += 1 }
            // strtod skips leading white space, which may include a tab separator or the newline: such a
            // field is empty or malformed, never the next field's number.
            var skippedSeparator = false
            if fieldStart < lineEnd && (fieldStart.pointee == 32 || fieldStart.pointee == 9) {
                var s = fieldStart
                while s < q && s < lineEnd { if s.pointee == sep { skippedSeparator = true; break }; s += 1 }
            }
            if q == fieldStart || q > lineEnd || (q < lineEnd && q.pointee != sep) || skippedSeparator
                || (quoted && q == numberEnd) {
                var fieldEnd = p
                while fieldEnd < lineEnd && fieldEnd.pointee != sep { fieldEnd += 1 }
                let text = unquotedText(p, fieldEnd)
                let what = text.isEmpty ? "empty value" : "'\(text)' is not a number"
                throw HarmonyError.fileFormat("\(path), line \(line.number), column \(c + 2) (\(header[c + 1])): \(what)")
            }
            guard v.isFinite else {
                throw HarmonyError.fileFormat(
                    "\(path), line \(line.number), column \(c + 2) (\(header[c + 1])): non-finite value '\(unquotedText(p, q))'")
            }
            row[c] = v
            p = q
        }
        if p < lineEnd { throw raggedRow(base, line, header: header) }
        return id
    }

    /// The error for a line whose field count differs from the header's.
    private func raggedRow(_ base: UnsafePointer<CChar>, _ line: LineRange, header: [String]) -> HarmonyError {
        var fields = 1
        for i in line.start..<line.end where base[i] == CChar(bitPattern: separator) { fields += 1 }
        return HarmonyError.fileFormat(
            "\(path), line \(line.number): \(fields) fields, but the header has \(header.count) (ragged row)")
    }

    /// The text between two pointers, without surrounding double quotes.
    private func unquotedText(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> String {
        var a = from, b = to
        if b - a >= 2 && a.pointee == CChar(bitPattern: Self.quote) && (b - 1).pointee == CChar(bitPattern: Self.quote) {
            a += 1; b -= 1
        }
        let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(a), count: b - a)
        return String(decoding: raw, as: UTF8.self)
    }
}
