// Lining up a query's genes with a reference's gene list (Symphony maps by gene name; we prefer stable ids):
//   1. a query gene whose id equals a reference gene's id feeds that gene;
//   2. a reference gene still unmatched takes the query gene with the same name, if exactly one reference gene
//      still unmatched and exactly one unused query gene carry that name (an ambiguous name matches nothing).
// Two query genes feeding one reference gene (a duplicated gene in the query) is an error: which one to use is
// a guess. Reference genes the query lacks are "absent": they stand at the reference mean, as in Symphony.

/// How a query's genes map onto a reference's genes.
public struct GeneMatch: Sendable, Equatable {
    /// Number of reference genes.
    public let referenceGeneCount: Int
    /// For each query gene (column of the query), the reference gene it feeds, or -1.
    public let queryToReference: [Int32]
    /// For each reference gene, whether the query measures it.
    public let present: [Bool]
    /// Reference genes matched by id.
    public let matchedById: Int
    /// Reference genes matched by name only.
    public let matchedByName: Int

    /// Reference genes the query measures.
    public var matchedCount: Int { matchedById + matchedByName }
    /// The fraction of reference genes the query measures.
    public var overlap: Double { Double(matchedCount) / Double(max(referenceGeneCount, 1)) }

    /// Matches `query`'s genes to `reference`'s; `source` names the query in error messages.
    public init(reference: [Gene], query: [Gene], source: String) throws {
        var toReference = [Int32](repeating: -1, count: query.count)
        var feeder = [Int](repeating: -1, count: reference.count)
        func claim(_ q: Int, _ r: Int) throws {
            guard feeder[r] < 0 else {
                throw HarmonyError.invalidInput("\(source): the reference gene \(reference[r].name) (\(reference[r].id)) "
                                                + "appears twice in the query (genes \(feeder[r] + 1) and \(q + 1)); "
                                                + "remove the duplicate")
            }
            feeder[r] = q
            toReference[q] = Int32(r)
        }
        var byId: [String: Int] = [:]
        for (r, gene) in reference.enumerated() { byId[gene.id] = r }
        for (q, gene) in query.enumerated() {
            if let r = byId[gene.id] { try claim(q, r) }
        }
        let idMatches = feeder.lazy.filter { $0 >= 0 }.count
        // Names of still unmatched reference genes and unused query genes; -2 marks a name held twice.
        var referenceByName: [String: Int] = [:]
        for (r, gene) in reference.enumerated() where feeder[r] < 0 {
            referenceByName[gene.name] = referenceByName[gene.name] == nil ? r : -2
        }
        var queryByName: [String: Int] = [:]
        for (q, gene) in query.enumerated() where toReference[q] < 0 && referenceByName[gene.name] != nil {
            if let earlier = queryByName[gene.name], let r = referenceByName[gene.name], r >= 0 {
                throw HarmonyError.invalidInput("\(source): the reference gene \(reference[r].name) appears twice in "
                                                + "the query (genes \(earlier + 1) and \(q + 1)); remove the duplicate")
            }
            queryByName[gene.name] = q
        }
        for (name, q) in queryByName {
            if let r = referenceByName[name], r >= 0 { try claim(q, r) }
        }
        referenceGeneCount = reference.count
        queryToReference = toReference
        present = feeder.map { $0 >= 0 }
        matchedById = idMatches
        matchedByName = present.lazy.filter { $0 }.count - idMatches
    }

    /// The cells of `block` (over the query's genes) as rows over the reference's genes, and each cell's library
    /// size over ALL of its query genes (normalization uses the whole library, not just the reference genes).
    /// Checks every value: finite, and non-negative integers when `counts`; a cell without any counts is an
    /// error. `firstCell` and `cellIDs` name cells in messages. `cells`, when given, takes only those rows of
    /// `block` (a block of a matrix held whole in memory, without copying it out first).
    public func referenceRows(_ block: SparseRows, cells: Range<Int>? = nil, counts: Bool, firstCell: Int,
                              cellIDs: [String], source: String) throws -> (rows: SparseRows, totals: [Double]) {
        guard block.columnCount == queryToReference.count else {
            throw HarmonyError.invalidInput("\(source): a block has \(block.columnCount) genes, the query \(queryToReference.count)")
        }
        let cells = cells ?? 0..<block.rowCount
        guard cells.lowerBound >= 0, cells.upperBound <= block.rowCount else {
            throw HarmonyError.invalidParameter("\(source): cells \(cells) of a block of \(block.rowCount)")
        }
        let n = cells.count
        let stored = block.rowStarts[cells.upperBound] - block.rowStarts[cells.lowerBound]
        var starts = [Int](repeating: 0, count: n + 1)
        var totals = [Double](repeating: 0, count: n)
        var entries: [(Int32, Float)] = []
        var kept = 0
        // Room for every entry of the block, left uninitialized: only the entries of reference genes are written
        // (often a fraction), so zeroing all of it first would cost more than the copy itself.
        var values: [Float] = []
        let columns = try [Int32](unsafeUninitializedCapacity: stored) { columns, columnCount in
        values = try [Float](unsafeUninitializedCapacity: stored) { values, valueCount in
        defer { (columnCount, valueCount) = (kept, kept) }
        try block.columns.withUnsafeBufferPointer { queryColumns in
        try block.values.withUnsafeBufferPointer { queryValues in
        try queryToReference.withUnsafeBufferPointer { toReference in
            for i in 0..<n {
                let range = block.rowStarts[cells.lowerBound + i]..<block.rowStarts[cells.lowerBound + i + 1]
                let (total, valid) = Self.libraryTotal(queryValues, range, counts: counts)
                guard valid else {
                    let e = range.first { !ExpressionNormalization.accepts(queryValues[$0], counts: counts) }!
                    let x = queryValues[e]
                    throw HarmonyError.invalidInput(
                        "\(source): \(Self.cellName(firstCell + i, cellIDs)) has the value \(x) for gene \(queryColumns[e] + 1); "
                        + (counts && x.isFinite ? "counts must be non-negative integers (log-normalized input needs a "
                                                  + "reference built from log-normalized values)" : "values must be finite"))
                }
                guard total != 0 || !counts, !range.isEmpty else {
                    throw HarmonyError.invalidInput("\(source): \(Self.cellName(firstCell + i, cellIDs)) is empty (no counts); remove empty cells first")
                }
                totals[i] = total
                // The cell's reference genes, in reference order: query and reference orders may differ, and a cell's
                // entries are only sorted when they came out of order.
                let first = kept
                var ordered = true, previous: Int32 = -1
                for e in range {
                    let r = toReference[Int(queryColumns[e])]
                    if r >= 0 {
                        columns[kept] = r
                        values[kept] = queryValues[e]
                        ordered = ordered && r > previous
                        previous = r
                        kept += 1
                    }
                }
                if !ordered {
                    entries.removeAll(keepingCapacity: true)
                    for e in first..<kept { entries.append((columns[e], values[e])) }
                    entries.sort { $0.0 < $1.0 }
                    for (offset, (r, x)) in entries.enumerated() {
                        columns[first + offset] = r
                        values[first + offset] = x
                    }
                }
                starts[i + 1] = kept
            }
        }}}}}
        return (SparseRows(unchecked: referenceGeneCount, rowStarts: starts, columns: columns, values: values), totals)
    }

    // The sum of a cell's values in stored order, and whether all are valid (a separate pass names the first bad
    // one): one branch-free loop, whose running total stays in a register.
    @inline(__always)
    private static func libraryTotal(_ values: UnsafeBufferPointer<Float>, _ range: Range<Int>,
                                     counts: Bool) -> (total: Double, valid: Bool) {
        var total = 0.0, valid = true
        for e in range {
            let x = values[e]
            valid = valid && ExpressionNormalization.accepts(x, counts: counts)
            total += Double(x)
        }
        return (total, valid)
    }

    private static func cellName(_ c: Int, _ cellIDs: [String]) -> String {
        c < cellIDs.count ? "cell \(cellIDs[c])" : "cell \(c + 1)"
    }
}
