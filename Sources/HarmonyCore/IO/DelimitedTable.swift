#if canImport(Glibc)
import Glibc
#endif

/// A text table with a header row: tab-separated (`.tsv`, `.txt`) or comma-separated (`.csv`), optionally
/// gzip-compressed. The first column holds row (cell) ids. Fields are kept as text; see `numericMatrix`.
public struct DelimitedTable: Sendable {
    /// The file it was read from (for error messages).
    public let path: String
    /// Header fields, including the first (id) column's name.
    public let header: [String]
    /// Row ids (the first field of each data line).
    public let ids: [String]
    /// The remaining fields of each data line, `header.count - 1` per row.
    public let fields: [[String]]
    /// The 1-based file line of each data row (blank lines are skipped, so rows and lines may differ).
    public let lineNumbers: [Int]

    /// The separator implied by a file name: comma for `.csv[.gz]`, tab otherwise.
    public static func separator(forPath path: String) -> UInt8 {
        let lower = path.lowercased()
        return (lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz")) ? UInt8(ascii: ",") : UInt8(ascii: "\t")
    }

    /// Reads and checks the shape of a table: a header, and every line with as many fields as the header.
    /// Errors name the file and the 1-based line.
    public static func read(_ path: String) throws -> DelimitedTable {
        let bytes = try FileBytes.read(path)
        let sep = separator(forPath: path)
        var lines = splitLines(bytes)
        guard !lines.isEmpty else { throw HarmonyError.fileFormat("\(path): the file is empty (expected a header row)") }
        var header = splitFields(lines.removeFirst(), separator: sep)
        // A header one field short of the first data line (R's write.table): the id column is unnamed.
        if let first = lines.first(where: { !$0.isEmpty }), splitFields(first, separator: sep).count == header.count + 1 {
            header.insert("cell_id", at: 0)
        }
        guard header.count >= 2 else {
            throw HarmonyError.fileFormat("\(path), line 1: the header has \(header.count) column(s); expected an id column and at least one more")
        }
        var ids: [String] = []
        var fields: [[String]] = []
        var lineNumbers: [Int] = []
        ids.reserveCapacity(lines.count)
        lineNumbers.reserveCapacity(lines.count)
        fields.reserveCapacity(lines.count)
        for (offset, line) in lines.enumerated() {
            if line.isEmpty { continue }
            var row = splitFields(line, separator: sep)
            if row.count != header.count {
                throw HarmonyError.fileFormat("\(path), line \(offset + 2): \(row.count) fields, but the header has \(header.count)")
            }
            ids.append(row.removeFirst())
            fields.append(row)
            lineNumbers.append(offset + 2)
        }
        return DelimitedTable(path: path, header: header, ids: ids, fields: fields, lineNumbers: lineNumbers)
    }

    /// All non-id columns parsed as finite numbers (correctly rounded, via strtod).
    /// Errors name the file, the 1-based line and the column header.
    public func numericMatrix() throws -> Matrix<Double> {
        let cols = header.count - 1
        var values = [Double](repeating: 0, count: ids.count * cols)
        for (r, row) in fields.enumerated() {
            for (c, text) in row.enumerated() {
                guard let v = DelimitedTable.parseDouble(text) else {
                    throw HarmonyError.fileFormat("\(path), line \(lineNumbers[r]), column \(c + 2) (\(header[c + 1])): '\(text)' is not a number")
                }
                guard v.isFinite else {
                    throw HarmonyError.fileFormat("\(path), line \(lineNumbers[r]), column \(c + 2) (\(header[c + 1])): non-finite value '\(text)'")
                }
                values[r * cols + c] = v
            }
        }
        return Matrix(rows: ids.count, cols: cols, values: values)
    }

    /// The 0-based field index (excluding the id column) of a named column, or nil.
    public func columnIndex(named name: String) -> Int? {
        header.dropFirst().firstIndex(of: name).map { $0 - 1 }
    }

    /// Parses a whole field as a Double with strtod (correct rounding); nil if any character is left over.
    public static func parseDouble(_ text: String) -> Double? {
        if text.isEmpty { return nil }
        return text.withCString { p -> Double? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(p, &end)
            guard let end, end != UnsafeMutablePointer(mutating: p), end.pointee == 0 else { return nil }
            return v
        }
    }

    static func splitLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for i in 0..<bytes.count where bytes[i] == UInt8(ascii: "\n") {
            var end = i
            if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append(bytes[start..<end])
            start = i + 1
        }
        if start < bytes.count {
            var end = bytes.count
            if bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append(bytes[start..<end])
        }
        return lines
    }

    // Fields as RFC 4180 quotes them: a field that starts with a double quote runs to the closing quote, holds
    // separators as text ("CD4+ T, naive") and writes a quote as two (""); other fields are taken as they are.
    // A quoted field cannot span lines here (a line break inside quotes ends the record early).
    static func splitFields(_ line: ArraySlice<UInt8>, separator: UInt8) -> [String] {
        let quote = UInt8(ascii: "\"")
        var out: [String] = []
        var i = line.startIndex
        while true {
            if i < line.endIndex && line[i] == quote {
                var field: [UInt8] = []
                var j = line.index(after: i)
                while j < line.endIndex {
                    if line[j] == quote {
                        let next = line.index(after: j)
                        if next < line.endIndex && line[next] == quote {
                            field.append(quote)
                            j = line.index(after: next)
                            continue
                        }
                        j = next
                        break
                    }
                    field.append(line[j])
                    j = line.index(after: j)
                }
                // Text between the closing quote and the separator is kept, as spreadsheet programs do.
                var k = j
                while k < line.endIndex && line[k] != separator { k = line.index(after: k) }
                field.append(contentsOf: line[j..<k])
                out.append(String(decoding: field, as: UTF8.self))
                guard k < line.endIndex else { return out }
                i = line.index(after: k)
            } else {
                var k = i
                while k < line.endIndex && line[k] != separator { k = line.index(after: k) }
                out.append(String(decoding: line[i..<k], as: UTF8.self))
                guard k < line.endIndex else { return out }
                i = line.index(after: k)
            }
        }
    }
}
