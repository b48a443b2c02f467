// MAP_EXPRESSION (protocol version 3): query cells as sparse expression over the reference's genes, in compressed
// sparse rows (CSR). The server projects them into the reference's PC space and then treats them exactly as a MAP
// of those coordinates. Every count and offset is checked against the bytes that remain before anything is
// allocated from it, so a lying length is an error, never a trap or a huge allocation.

/// What the values of a MAP_EXPRESSION are.
public enum ExpressionValueKind: UInt8, Sendable, Equatable {
    /// Raw counts (non-negative integers); the server normalizes them with each cell's library total.
    case counts = 0
    /// Values already normalized as INFO's normalization says (for counts models: ln(1 + target sum x / total));
    /// used as they are, and the totals are not read.
    case logNormalized = 1
}

/// MAP_EXPRESSION (0x09, protocol version 3): n cells of one batch as CSR rows over INFO's G reference genes.
///
/// Payload: `str16 batch | u32 n | u32 G | u8 value kind | u8 has_ids | ceil(G/8) bytes present-gene bitmap
/// | n x f64 library totals | (n+1) x u32 row starts | nnz x u32 column indices | nnz x f32 values
/// | (has_ids = 1) n x str16 cell ids`, nnz = the last row start.
public struct ExpressionMapRequest: WireMessage {
    /// Frames of this message carry type 0x09.
    public static let messageType = MessageType.mapExpression
    /// The batch label of every cell (non-empty, at most `ProtocolLimits.maxBatchLabelBytes`).
    public var batch: String
    /// Number of cells n.
    public var cellCount: Int
    /// Number of reference genes G (INFO's gene count).
    public var geneCount: Int
    /// Counts or normalized values.
    public var valueKind: ExpressionValueKind
    /// Per reference gene, whether the query measures it; an absent gene stands at the reference mean.
    public var present: [Bool]
    /// Each cell's library total over ALL of its genes (counts), not only the reference genes sent.
    public var totals: [Double]
    /// n + 1 offsets into `columns` and `values`.
    public var rowStarts: [UInt32]
    /// Reference gene index of each stored entry, strictly increasing within a row.
    public var columns: [UInt32]
    /// Value of each stored entry.
    public var values: [Float]
    /// Cell ids, one per cell, or nil.
    public var cellIDs: [String]?

    /// A request from its arrays; `present` nil means every gene is measured. Shapes that disagree are a caller
    /// bug; `validate()` checks the contents.
    public init(batch: String, geneCount: Int, valueKind: ExpressionValueKind, present: [Bool]? = nil,
                totals: [Double], rowStarts: [UInt32], columns: [UInt32], values: [Float], cellIDs: [String]? = nil) {
        precondition(rowStarts.count == totals.count + 1 && columns.count == values.count,
                     "MAP_EXPRESSION arrays disagree")
        precondition(present.map { $0.count == geneCount } ?? true, "MAP_EXPRESSION needs one presence flag per gene")
        precondition(cellIDs.map { $0.count == totals.count } ?? true, "MAP_EXPRESSION needs one id per cell")
        self.batch = batch
        self.cellCount = totals.count
        self.geneCount = geneCount
        self.valueKind = valueKind
        self.present = present ?? [Bool](repeating: true, count: geneCount)
        self.totals = totals
        self.rowStarts = rowStarts
        self.columns = columns
        self.values = values
        self.cellIDs = cellIDs
    }

    /// Bytes of the present-gene bitmap.
    static func bitmapBytes(_ genes: Int) -> Int { (genes + 7) / 8 }

    /// Exact payload size.
    public var payloadSizeHint: Int {
        12 + batch.utf8.count + Self.bitmapBytes(geneCount) + 8 * cellCount + 4 * rowStarts.count + 8 * values.count
            + (cellIDs?.reduce(0) { $0 + 2 + $1.utf8.count } ?? 0)
    }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) {
        writer.writeShortString(batch)
        writer.writeCount(cellCount)
        writer.writeCount(geneCount)
        writer.writeUInt8(valueKind.rawValue)
        writer.writeUInt8(cellIDs == nil ? 0 : 1)
        var bitmap = [UInt8](repeating: 0, count: Self.bitmapBytes(geneCount))
        for (g, measured) in present.enumerated() where measured { bitmap[g / 8] |= 1 << UInt8(g % 8) }
        writer.writeBytes(bitmap)
        writer.writeFloat64Array(totals)
        writer.writeUInt32Array(rowStarts)
        writer.writeUInt32Array(columns)
        writer.writeFloat32Array(values)
        if let cellIDs {
            for id in cellIDs { writer.writeShortString(id) }
        }
    }

    /// Reads the payload and checks its contents (`validate()`).
    public init(reading reader: inout ByteReader) throws {
        batch = try reader.readShortString("batch label")
        guard !batch.isEmpty else { throw ProtocolError(.malformed, "the MAP_EXPRESSION batch label is empty") }
        guard batch.utf8.count <= ProtocolLimits.maxBatchLabelBytes else {
            throw ProtocolError(.malformed, "the MAP_EXPRESSION batch label is \(batch.utf8.count) bytes; "
                                + "at most \(ProtocolLimits.maxBatchLabelBytes) are allowed")
        }
        cellCount = try reader.readCount("cell count")
        geneCount = try reader.readCount("gene count")
        let kind = try reader.readUInt8("value kind")
        guard let valueKind = ExpressionValueKind(rawValue: kind) else {
            throw ProtocolError(.malformed, "the value kind must be 0 (counts) or 1 (log-normalized), got \(kind)")
        }
        self.valueKind = valueKind
        let hasIDs = try reader.readBool("has-ids flag")
        guard cellCount >= 1, geneCount >= 1 else {
            throw ProtocolError(.badDimension, "a MAP_EXPRESSION needs at least one cell and one gene, "
                                + "got \(cellCount) cells over \(geneCount) genes")
        }
        // Sizes first, against what remains: the bitmap, n totals, n + 1 row starts.
        let bitmapSize = Self.bitmapBytes(geneCount)
        guard bitmapSize <= reader.remaining, cellCount <= (reader.remaining - bitmapSize) / 12 else {
            throw ProtocolError(.badDimension, "MAP_EXPRESSION announces \(cellCount) cells over \(geneCount) genes, "
                                + "but the payload has only \(reader.remaining) bytes left")
        }
        let bitmap = try reader.readBytes(bitmapSize, "present-gene bitmap")
        if geneCount % 8 != 0, bitmap[bitmapSize - 1] >> UInt8(geneCount % 8) != 0 {
            throw ProtocolError(.malformed, "the present-gene bitmap sets bits beyond gene \(geneCount - 1)")
        }
        present = (0..<geneCount).map { bitmap[$0 / 8] & (1 << UInt8($0 % 8)) != 0 }
        totals = try reader.readFloat64Array(cellCount, "library totals")
        rowStarts = try reader.readUInt32Array(cellCount + 1, "row starts")
        let stored = Int(rowStarts[cellCount])
        guard stored <= reader.remaining / 8 else {
            throw ProtocolError(.badDimension, "MAP_EXPRESSION announces \(stored) stored values, but the payload has "
                                + "only \(reader.remaining) bytes left")
        }
        columns = try reader.readUInt32Array(stored, "column indices")
        values = try reader.readFloat32Array(stored, "values")
        cellIDs = hasIDs ? try reader.readShortStrings(cellCount, "cell ids") : nil
        try validate()
    }

    /// Checks the contents, in this order: row starts (start at 0, never decrease, end at the number of stored
    /// values: MALFORMED), column indices (below G: BAD_DIMENSION; strictly increasing in a row: MALFORMED), values
    /// (finite: NON_FINITE; non-negative, integers for counts, not on a gene marked absent: BAD_VALUE), library
    /// totals (finite: NON_FINITE; for counts positive and at least the row's sum, for normalized values
    /// non-negative: BAD_VALUE).
    public func validate() throws {
        let n = cellCount, g = geneCount
        guard n >= 1, g >= 1, totals.count == n, rowStarts.count == n + 1, columns.count == values.count,
              present.count == g else {
            throw ProtocolError(.badDimension, "MAP_EXPRESSION arrays do not describe \(n) cells over \(g) genes")
        }
        guard rowStarts[0] == 0, Int(rowStarts[n]) == columns.count else {
            throw ProtocolError(.malformed, "row starts must begin at 0 and end at the \(columns.count) stored values, "
                                + "got \(rowStarts[0]) and \(rowStarts[n])")
        }
        for i in 0..<n where rowStarts[i + 1] < rowStarts[i] {
            throw ProtocolError(.malformed, "row starts decrease at cell \(i) (\(rowStarts[i]) then \(rowStarts[i + 1]))")
        }
        let counts = valueKind == .counts
        // Unsafe views: this runs for every stored value of every request, on the daemon's loop thread. Every index
        // is checked against its bound before it is used.
        try columns.withUnsafeBufferPointer { columns in
            try values.withUnsafeBufferPointer { values in
                try present.withUnsafeBufferPointer { present in
                    for i in 0..<n {
                        let sum = try Self.checkedSum(cell: i, Int(rowStarts[i])..<Int(rowStarts[i + 1]), columns: columns,
                                                      values: values, present: present, genes: g, counts: counts)
                        try checkTotal(cell: i, sum: sum, counts: counts)
                    }
                }
            }
        }
    }

    // The sum of a cell's stored values, after checking its entries (see `validate`).
    @inline(__always)
    private static func checkedSum(cell i: Int, _ entries: Range<Int>, columns: UnsafeBufferPointer<UInt32>,
                                   values: UnsafeBufferPointer<Float>, present: UnsafeBufferPointer<Bool>, genes g: Int,
                                   counts: Bool) throws -> Double {
        var previous = -1
        var sum = 0.0
        for e in entries {
            let column = Int(columns[e])
            guard column < g else {
                throw ProtocolError(.badDimension, "cell \(i) has gene index \(column); the reference has \(g) genes")
            }
            guard column > previous else {
                throw ProtocolError(.malformed, "cell \(i): gene indices must increase strictly, got \(previous) "
                                    + "then \(column)")
            }
            previous = column
            let x = values[e]
            guard x.isFinite else { throw ProtocolError(.nonFinite, "cell \(i), gene \(column): the value is \(x)") }
            guard x >= 0 else {
                throw ProtocolError(.badValue, "cell \(i), gene \(column): the value \(x) is negative")
            }
            // x >= 0 here. Every Float from 2^23 up is an integer; below, a round trip through Int32 drops the fraction
            // (two baseline instructions, where rounded() is a library call on the x86-64 baseline).
            if counts && x < 8_388_608 && Float(Int32(x)) != x {
                throw ProtocolError(.badValue, "cell \(i), gene \(column): the count \(x) is not an integer "
                                    + "(send log-normalized values with value kind 1)")
            }
            guard present[column] else {
                throw ProtocolError(.badValue, "cell \(i) has a value for gene \(column), marked absent")
            }
            sum += Double(x)
        }
        return sum
    }

    // A cell's library total, against the sum of its stored values (see `validate`).
    private func checkTotal(cell i: Int, sum: Double, counts: Bool) throws {
        let total = totals[i]
        guard total.isFinite else { throw ProtocolError(.nonFinite, "cell \(i): the library total is \(total)") }
        if counts {
            guard total > 0 else {
                throw ProtocolError(.badValue, "cell \(i) is empty: its library total is \(total); remove empty cells")
            }
            guard total >= sum else {
                throw ProtocolError(.badValue, "cell \(i): the library total \(total) is below the \(sum) counts "
                                    + "sent for it; send the total over all of the cell's genes")
            }
        } else if total < 0 {
            throw ProtocolError(.badValue, "cell \(i): the library total \(total) is negative")
        }
    }
}

/// MAP_EXPRESSION_TRANSIENT (0x0A, protocol version 3): a MAP_EXPRESSION answered without remembering or logging
/// the cells, as MAP_TRANSIENT is to MAP.
///
/// Payload: exactly a MAP_EXPRESSION payload.
public struct TransientExpressionMapRequest: WireMessage {
    /// Frames of this message carry type 0x0A.
    public static let messageType = MessageType.mapExpressionTransient
    /// The cells, with MAP_EXPRESSION's layout and rules.
    public var map: ExpressionMapRequest

    /// A transient mapping of `map`'s cells.
    public init(_ map: ExpressionMapRequest) { self.map = map }

    /// Exact payload size.
    public var payloadSizeHint: Int { map.payloadSizeHint }

    /// Appends the payload bytes.
    public func encodePayload(into writer: inout ByteWriter) { map.encodePayload(into: &writer) }

    /// Reads the payload with MAP_EXPRESSION's checks.
    public init(reading reader: inout ByteReader) throws { map = try ExpressionMapRequest(reading: &reader) }
}

/// MAP_EXPRESSION reply (0x89): exactly a MAP reply payload of version 3 (`MapReply`, with mapping distances).
public struct ExpressionMapReply: MapReplyPayload {
    /// Frames of this message carry type 0x89.
    public static let messageType = MessageType.mapExpressionReply
    /// Only version-3 peers send MAP_EXPRESSION.
    public static let defaultVersion = ProtocolVersion.current
    /// The corrections, clusters, labels and distances.
    public var reply: MapReply

    /// A reply carrying `reply`'s fields.
    public init(_ reply: MapReply) { self.reply = reply }
}

/// MAP_EXPRESSION_TRANSIENT reply (0x8A): exactly a MAP_EXPRESSION reply payload.
public struct TransientExpressionMapReply: MapReplyPayload {
    /// Frames of this message carry type 0x8A.
    public static let messageType = MessageType.mapExpressionTransientReply
    /// Only version-3 peers send MAP_EXPRESSION_TRANSIENT.
    public static let defaultVersion = ProtocolVersion.current
    /// The corrections, clusters, labels and distances.
    public var reply: MapReply

    /// A reply carrying `reply`'s fields.
    public init(_ reply: MapReply) { self.reply = reply }
}
