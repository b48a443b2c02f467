/// A cells x dimensions embedding together with its cell ids and dimension names, as read from a file.
///
/// Values are kept as parsed (float64) so that derived quantities (LISI, fixtures' deterministic steps) see
/// exactly the numbers in the file; `floatValues` gives the float32 copy the Harmony fit works on.
public struct Embedding: Sendable {
    /// The file it was read from, for error messages (empty when built in memory).
    public var path: String
    /// One id per cell (row), unique.
    public var ids: [String]
    /// One name per dimension (column), e.g. `PC1`.
    public var columnNames: [String]
    /// The numbers, cells in rows.
    public var values: Matrix<Double>
    /// For text files, the 1-based file line of each cell (for error messages); empty for `.npy`.
    public var lineNumbers: [Int]

    /// An embedding from parts; `ids.count` must equal `values.rows` and `columnNames.count` `values.cols`.
    public init(path: String = "", ids: [String], columnNames: [String], values: Matrix<Double>,
                lineNumbers: [Int] = []) {
        precondition(ids.count == values.rows && columnNames.count == values.cols, "embedding parts disagree")
        self.path = path
        self.ids = ids
        self.columnNames = columnNames
        self.values = values
        self.lineNumbers = lineNumbers
    }

    /// Number of cells.
    public var cellCount: Int { values.rows }

    /// The values converted to float32 (the fit's storage type).
    public var floatValues: Matrix<Float> { values.converted(to: Float.self) }

    /// Reads an embedding in the format of its extension (`MatrixFileFormat`), checking that every value is a
    /// finite number, that rows are not ragged and that cell ids are present and unique.
    /// Errors name the file, the line (or row) and the column.
    public static func read(_ path: String) throws -> Embedding {
        switch try MatrixFileFormat(path: path) {
        case .text(let separator, _):
            var bytes = try FileBytes.read(path)
            return try EmbeddingTextParser(path: path, separator: separator).parse(&bytes)
        case .npy:
            return try NumpyFile.readEmbedding(path)
        }
    }

    /// Where cell `row` is in the file, for messages: "line L" for text files, "row R" for `.npy`.
    public func location(ofRow row: Int) -> String {
        row < lineNumbers.count ? "line \(lineNumbers[row])" : "row \(row)"
    }

    /// Throws if an id occurs twice, naming both places.
    func checkUniqueIds() throws {
        var firstRow: [String: Int] = [:]
        firstRow.reserveCapacity(ids.count)
        for (row, id) in ids.enumerated() {
            if let first = firstRow.updateValue(row, forKey: id) {
                throw HarmonyError.fileFormat(
                    "\(path), \(location(ofRow: row)): duplicate cell id '\(id)' (already on \(location(ofRow: first)))")
            }
        }
    }
}
