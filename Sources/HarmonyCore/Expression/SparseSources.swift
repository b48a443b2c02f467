// The ExpressionSource implementations shared by the file readers: CSR held in HDF5 datasets (AnnData CSR X,
// 10x .h5, whose genes x cells CSC is a CSR over cells), a dense HDF5 matrix, and a CSR in memory (MatrixMarket,
// AnnData CSC after transposition). Readers give each one the genes to keep as a column map.

/// Which source columns become which genes: `map[c]` is the gene index of source column `c`, or -1 to drop it.
struct ColumnMap: Sendable {
    /// One entry per source column.
    let map: [Int32]
    /// Number of genes kept.
    let keptCount: Int

    /// Keeps the columns where `keep` is true, in order.
    init(keep: [Bool]) {
        var map = [Int32](repeating: -1, count: keep.count)
        var next: Int32 = 0
        for (c, k) in keep.enumerated() where k { map[c] = next; next += 1 }
        self.map = map
        keptCount = Int(next)
    }

    /// Every column kept.
    init(all count: Int) { self.init(keep: [Bool](repeating: true, count: count)) }

    /// Whether every column is kept unchanged.
    var isIdentity: Bool { keptCount == map.count }
}

extension SparseRows {
    /// A checked block from rows as a file stores them: column indices into `columns.map`'s source columns,
    /// possibly unsorted within a row. Dropped columns are removed, kept ones renumbered, and rows sorted.
    /// - Throws: `.fileFormat` naming `origin` and the cell for an index out of range or repeated in a row.
    init(storedRowStarts: [Int], columns stored: [Int32], values storedValues: [Float], columns map: ColumnMap,
         origin: String, firstRow: Int) throws {
        let sourceCount = Int32(map.map.count), rowCount = storedRowStarts.count - 1
        // The common case, every column kept and every row sorted (what anndata and Cell Ranger write), takes the
        // stored arrays as they are after one checking pass.
        if map.isIdentity, Self.increasing(stored, rowStarts: storedRowStarts, below: sourceCount) {
            self.init(unchecked: map.keptCount, rowStarts: storedRowStarts, columns: stored, values: storedValues)
            return
        }
        var starts = [Int](repeating: 0, count: storedRowStarts.count)
        var columns = [Int32](repeating: 0, count: stored.count)
        var values = [Float](repeating: 0, count: stored.count)
        var written = 0
        var unsorted: [Int] = []   // rows whose kept columns are not increasing
        for i in 0..<rowCount {
            var previous: Int32 = -1, sorted = true
            for e in storedRowStarts[i]..<storedRowStarts[i + 1] {
                let c = stored[e]
                guard c >= 0, c < sourceCount else {
                    throw HarmonyError.fileFormat(
                        "\(origin): cell \(firstRow + i) has gene index \(c), outside 0..<\(sourceCount)")
                }
                let g = map.map[Int(c)]
                if g < 0 { continue }
                if g <= previous { sorted = false }
                previous = g
                columns[written] = g
                values[written] = storedValues[e]
                written += 1
            }
            starts[i + 1] = written
            if !sorted { unsorted.append(i) }
        }
        columns.removeLast(columns.count - written)
        values.removeLast(values.count - written)
        for i in unsorted {
            let range = starts[i]..<starts[i + 1]
            let order = range.sorted { columns[$0] < columns[$1] }
            let c = order.map { columns[$0] }, v = order.map { values[$0] }
            for k in 1..<c.count where c[k] == c[k - 1] {
                throw HarmonyError.fileFormat("\(origin): cell \(firstRow + i) lists gene \(c[k]) twice")
            }
            columns.replaceSubrange(range, with: c)
            values.replaceSubrange(range, with: v)
        }
        self.init(unchecked: map.keptCount, rowStarts: starts, columns: columns, values: values)
    }
}

extension SparseRows {
    /// Whether every row's column indices are in 0..<`limit` and strictly increasing.
    static func increasing(_ columns: [Int32], rowStarts: [Int], below limit: Int32) -> Bool {
        columns.withUnsafeBufferPointer { c in
            for i in 0..<(rowStarts.count - 1) {
                var previous: Int32 = -1
                for e in rowStarts[i]..<rowStarts[i + 1] {
                    let column = c[e]
                    if column <= previous || column >= limit { return false }
                    previous = column
                }
            }
            return true
        }
    }
}

/// Checks the offsets array of a stored CSR: starts at 0, never decreases, ends at the number of entries.
func checkOffsets(_ offsets: [Int64], entries: Int, origin: String, what: String) throws {
    guard offsets.first == 0, offsets.last == Int64(entries) else {
        throw HarmonyError.fileFormat(
            "\(origin): the \(what) offsets run from \(offsets.first ?? -1) to \(offsets.last ?? -1) but there are "
            + "\(entries) stored values (mismatched shapes)")
    }
    for i in 1..<offsets.count where offsets[i] < offsets[i - 1] {
        throw HarmonyError.fileFormat("\(origin): the \(what) offsets decrease at \(what) \(i - 1)")
    }
}

/// Throws unless `range` lies within `0..<cellCount` (a caller's mistake, reported rather than trapped).
func checkRowRange(_ range: Range<Int>, cellCount: Int, origin: String) throws {
    guard range.lowerBound >= 0, range.upperBound <= cellCount else {
        throw HarmonyError.invalidParameter(
            "\(origin): cells \(range.lowerBound)..<\(range.upperBound) asked of a matrix of \(cellCount) cells")
    }
}

/// Cells stored as CSR in three HDF5 datasets (values, column indices, row offsets), read in row blocks.
///
/// Memory: the offsets of all cells stay in memory (8 bytes per cell); a block of cells with E stored values
/// reads E indices (4 bytes each) and E values (4 bytes each) and returns them renumbered, about 16 bytes per
/// stored value at peak. Nothing else is held.
final class HDF5SparseRowsSource: ExpressionSource, Sendable {
    let origin: String
    let cellIDs: [String]
    let genes: [Gene]
    private let values: HDF5Dataset
    private let indices: HDF5Dataset
    private let offsets: [Int64]
    private let columns: ColumnMap

    /// A source over `values`/`indices`/`offsets`; checks that the three agree with each other and the cells.
    init(origin: String, cellIDs: [String], genes: [Gene], values: HDF5Dataset, indices: HDF5Dataset,
         offsets: HDF5Dataset, columns: ColumnMap) throws {
        guard values.shape.count == 1, indices.shape.count == 1, offsets.shape.count == 1,
              values.length == indices.length else {
            throw HarmonyError.fileFormat(
                "\(origin): the sparse matrix has \(values.length) values but \(indices.length) indices (mismatched shapes)")
        }
        guard offsets.length == cellIDs.count + 1 else {
            throw HarmonyError.fileFormat(
                "\(origin): \(offsets.length) row offsets for \(cellIDs.count) cells (expected \(cellIDs.count + 1); mismatched shapes)")
        }
        guard genes.count == columns.keptCount else {
            throw HarmonyError.fileFormat("\(origin): \(genes.count) genes for \(columns.keptCount) columns")
        }
        let offsetValues = try offsets.readInt64s()
        try checkOffsets(offsetValues, entries: values.length, origin: origin, what: "cell")
        self.origin = origin
        self.cellIDs = cellIDs
        self.genes = genes
        self.values = values
        self.indices = indices
        self.offsets = offsetValues
        self.columns = columns
    }

    func rows(_ range: Range<Int>) throws -> SparseRows {
        try checkRowRange(range, cellCount: cellIDs.count, origin: origin)
        let lo = Int(offsets[range.lowerBound]), hi = Int(offsets[range.upperBound])
        let stored = try indices.readInt32s(lo..<hi)
        let storedValues = try values.readFloats(lo..<hi)
        let starts = offsets[range.lowerBound...range.upperBound].map { Int($0) - lo }
        return try SparseRows(storedRowStarts: starts, columns: stored, values: storedValues, columns: columns,
                              origin: origin, firstRow: range.lowerBound)
    }
}

/// A dense cells x genes HDF5 matrix (AnnData's dense X), read in row blocks.
///
/// Memory: a block of R cells reads R x (all source genes) Floats (4 bytes each) and keeps the non-zeros.
final class HDF5DenseSource: ExpressionSource, Sendable {
    let origin: String
    let cellIDs: [String]
    let genes: [Gene]
    private let matrix: HDF5Dataset
    private let columns: ColumnMap

    init(origin: String, cellIDs: [String], genes: [Gene], matrix: HDF5Dataset, columns: ColumnMap) throws {
        guard matrix.shape.count == 2, matrix.shape[0] == cellIDs.count, matrix.shape[1] == columns.map.count else {
            throw HarmonyError.fileFormat(
                "\(origin): the matrix is \(matrix.shape.map(String.init).joined(separator: " x ")) but there are "
                + "\(cellIDs.count) cells and \(columns.map.count) genes (mismatched shapes)")
        }
        self.origin = origin
        self.cellIDs = cellIDs
        self.genes = genes
        self.matrix = matrix
        self.columns = columns
    }

    func rows(_ range: Range<Int>) throws -> SparseRows {
        try checkRowRange(range, cellCount: cellIDs.count, origin: origin)
        let width = columns.map.count
        let dense = try matrix.readFloats(range)
        var starts = [Int](repeating: 0, count: range.count + 1)
        var indices = [Int32](), values = [Float]()
        for i in 0..<range.count {
            for c in 0..<width {
                let v = dense[i * width + c], g = columns.map[c]
                if v != 0 && g >= 0 { indices.append(g); values.append(v) }
            }
            starts[i + 1] = indices.count
        }
        return SparseRows(unchecked: columns.keptCount, rowStarts: starts, columns: indices, values: values)
    }
}
