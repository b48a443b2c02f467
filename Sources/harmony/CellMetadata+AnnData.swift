import HarmonyCore

extension CellMetadata {
    /// Every metadata column for the cells of `embedding`, in its row order, as `.h5ad` obs columns: float64 when
    /// every value is a number, else categorical.
    func annDataColumns(for embedding: Embedding) throws -> [(name: String, column: AnnDataOutputColumn)] {
        let rows = try self.rows(for: embedding)
        return table.header.dropFirst().enumerated().map { c, name in
            let text = rows.map { table.fields[$0][c] }
            let numbers = text.compactMap { Double($0) }
            return (name, numbers.count == text.count ? .doubles(numbers) : .categorical(text))
        }
    }
}
