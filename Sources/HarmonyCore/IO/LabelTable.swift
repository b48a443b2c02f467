/// A text table of labels per cell (the shape of a metadata file): an id column and named text columns.
public struct LabelTable: Sendable {
    /// Name of the id column (e.g. `cell_id`).
    public var idHeader: String
    /// One id per row.
    public var ids: [String]
    /// Column names and, for each, one value per row.
    public var columns: [(name: String, values: [String])]

    /// A table; every column must have one value per id.
    public init(idHeader: String = "cell_id", ids: [String], columns: [(name: String, values: [String])]) {
        precondition(columns.allSatisfy { $0.values.count == ids.count }, "one value per cell in every column")
        self.idHeader = idHeader
        self.ids = ids
        self.columns = columns
    }

    /// Adds the table to `group` as delimited text in the format of `path` (`.tsv`/`.csv`/`.txt`, optionally
    /// `.gz`). Values must not contain the separator or a newline.
    public func add(to path: String, in group: inout AtomicFileGroup) throws {
        guard case .text(let sep, let gzip) = try MatrixFileFormat(path: path) else {
            throw HarmonyError.invalidParameter("\(path): a label table is written as text (.tsv, .csv or .txt)")
        }
        var out: [UInt8] = Array(idHeader.utf8)
        for c in columns { out.append(sep); out.append(contentsOf: c.name.utf8) }
        out.append(UInt8(ascii: "\n"))
        for (r, id) in ids.enumerated() {
            out.append(contentsOf: id.utf8)
            for c in columns { out.append(sep); out.append(contentsOf: c.values[r].utf8) }
            out.append(UInt8(ascii: "\n"))
        }
        group.add(gzip ? try Gzip.compress(out) : out, to: path)
    }
}
