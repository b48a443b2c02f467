/// A cells x genes expression matrix on disk or in memory, read in row blocks.
///
/// Implementations: AnnData `.h5ad` (X, a layer or raw), 10x Genomics directories and `.h5`, MatrixMarket,
/// and in-memory blocks. Reading a range never loads more than that range of cells (plus the file's index
/// arrays where the format needs them), so a 1M-cell atlas streams through in bounded memory.
public protocol ExpressionSource {
    /// Where the matrix comes from, for messages (a path, or a path and a layer).
    var origin: String { get }
    /// Cell ids (barcodes, or the AnnData obs index), one per row.
    var cellIDs: [String] { get }
    /// Genes, one per column.
    var genes: [Gene] { get }
    /// The cells `range` (a sub-range of `0..<cellIDs.count`) as one CSR block over all genes.
    func rows(_ range: Range<Int>) throws -> SparseRows
    /// Whether `rows` may be called from several threads at once (in-memory matrices; not a file's handle).
    var readsConcurrently: Bool { get }
    /// Calls `body` with a CSR that holds the cells `range`, and their rows in it: a block read for them (rows
    /// 0..<range.count), or, for a matrix held in memory, the whole matrix, which saves copying the block out.
    func withRows<T>(_ range: Range<Int>, _ body: (SparseRows, Range<Int>) throws -> T) throws -> T
}

extension ExpressionSource {
    /// Number of cells.
    public var cellCount: Int { cellIDs.count }
    /// Number of genes.
    public var geneCount: Int { genes.count }
    /// Sources read through a file handle read one block at a time.
    public var readsConcurrently: Bool { false }

    /// The block `rows(range)`, checked to hold `range.count` cells.
    public func withRows<T>(_ range: Range<Int>, _ body: (SparseRows, Range<Int>) throws -> T) throws -> T {
        let block = try rows(range)
        guard block.rowCount == range.count else {
            throw HarmonyError.fileFormat("\(origin): cells \(range.lowerBound)..<\(range.upperBound) came back as \(block.rowCount) cells")
        }
        return try body(block, 0..<block.rowCount)
    }
}
