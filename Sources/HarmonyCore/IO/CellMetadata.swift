#if canImport(Glibc)
import Glibc
#endif

/// A metadata table (header row, first column the cell id) indexed by cell id, joined to embeddings by id.
public struct CellMetadata: Sendable {
    /// The table as read.
    public let table: DelimitedTable
    /// Row index of each cell id.
    public let rowOfId: [String: Int]

    /// Reads a metadata table and checks that every cell id is present and unique.
    /// Errors name the file and line.
    public static func read(_ path: String) throws -> CellMetadata {
        _ = try MatrixFileFormat(path: path)
        let table = try DelimitedTable.read(path)
        var rowOfId: [String: Int] = [:]
        rowOfId.reserveCapacity(table.ids.count)
        let lines = table.lineNumbers
        for (row, id) in table.ids.enumerated() {
            if id.isEmpty {
                throw HarmonyError.fileFormat("\(path), line \(lines[row]), column 1 (\(table.header[0])): missing cell id")
            }
            if let first = rowOfId.updateValue(row, forKey: id) {
                throw HarmonyError.fileFormat(
                    "\(path), line \(lines[row]): duplicate cell id '\(id)' (already on line \(lines[first]))")
            }
        }
        return CellMetadata(table: table, rowOfId: rowOfId)
    }

    /// For each cell of `embedding`, its row in this table.
    /// - Throws: if a cell of the embedding has no metadata row (naming the embedding's file and line).
    public func rows(for embedding: Embedding) throws -> [Int] {
        var rows = [Int](repeating: 0, count: embedding.cellCount)
        for (i, id) in embedding.ids.enumerated() {
            guard let row = rowOfId[id] else {
                throw HarmonyError.invalidInput(
                    "\(embedding.path), \(embedding.location(ofRow: i)): cell '\(id)' is not in the metadata file \(table.path)"
                    + Self.sidecarHint(embedding.path))
            }
            rows[i] = row
        }
        return rows
    }

    /// Values R, pandas and anndata write for a missing entry. A batch or label column holding one would otherwise
    /// become a level of its own (often of one cell), silently; they are refused like an empty value.
    public static let missingMarkers: Set<String> = ["NA", "<NA>", "NaN", "nan", "None", "null"]

    // A .npy file without its ids sidecar names its cells 0, 1, ...: say so when those names do not match.
    private static func sidecarHint(_ path: String) -> String {
        guard path.lowercased().hasSuffix(".npy") else { return "" }
        let sidecar = NumpyFile.sidecarPath(for: path)
        guard access(sidecar, F_OK) != 0 else { return "" }
        return " (\(path) has no ids file \(sidecar), so its cells are named by their row numbers 0, 1, ...; "
            + "write one cell id per line there, in row order)"
    }

    /// The labels of column `name` for the cells at `rows`, in that order.
    /// - Throws: for an unknown or empty column name, or an empty value (naming file, line and column).
    public func labels(column name: String, rows: [Int]) throws -> [String] {
        guard !name.isEmpty else {
            throw HarmonyError.invalidParameter("an empty metadata column name was given")
        }
        guard let c = table.columnIndex(named: name) else {
            let known = table.header.dropFirst().map { "'\($0)'" }.joined(separator: ", ")
            throw HarmonyError.invalidParameter(
                "\(table.path): no column '\(name)' in the metadata; its columns are \(known)")
        }
        var out = [String](repeating: "", count: rows.count)
        for (i, row) in rows.enumerated() {
            let value = table.fields[row][c]
            if value.isEmpty || Self.missingMarkers.contains(value) {
                let what = value.isEmpty ? "empty value" : "missing value '\(value)'"
                throw HarmonyError.invalidInput(
                    "\(table.path), line \(table.lineNumbers[row]), column \(c + 2) (\(name)): \(what) for cell "
                    + "'\(table.ids[row])'; every cell needs a batch or label (drop such cells, or give them a level of "
                    + "their own such as 'unknown')")
            }
            out[i] = value
        }
        return out
    }

    /// The covariates named `columns`, aligned with `embedding`'s cells.
    public func covariates(_ columns: [String], for embedding: Embedding) throws -> [Covariate] {
        let rows = try rows(for: embedding)
        return try columns.map { Covariate(name: $0, labels: try labels(column: $0, rows: rows)) }
    }
}
