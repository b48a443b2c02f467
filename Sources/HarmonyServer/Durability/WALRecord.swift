// One record of the write-ahead log: the cells of one MAP request, or the FORGET of a batch.
//
// Byte layout (all integers little-endian), after the 8-byte file header `HMNYWAL1`:
//   u32 bodyLength | u32 crc32(body) | body
//   body = u64 sequence | u32 n | u32 d | u16 batchLength | batch UTF-8
//          | n x (u16 idLength | id UTF-8) | n*d x f32 cells, row-major
// A record with n = 0 and d = 0 (no ids, no cells) is a FORGET of its batch: a MAP always has at least one cell.
// A record whose length runs past the end of the file or whose checksum does not match is torn. The file may
// end in zeros (space preallocated by `WriteAheadLog`); a zero header (length 0, crc 0) ends the log.

/// The cells of one accepted MAP request, as logged before they are acknowledged.
struct WALRecord: Equatable {
    /// Position in the log (1, 2, ...); a model file records the last sequence it has folded in.
    var sequence: UInt64
    /// The query batch the cells belong to.
    var batch: String
    /// Cell ids, empty or one per cell.
    var ids: [String]
    /// Number of cells.
    var count: Int
    /// Dimensions per cell.
    var dims: Int
    /// count x dims values, row-major.
    var cells: [Float]

    /// The record of a FORGET of `batch`.
    static func forget(sequence: UInt64, batch: String) -> WALRecord {
        WALRecord(sequence: sequence, batch: batch, ids: [], count: 0, dims: 0, cells: [])
    }

    /// True for the record of a FORGET (no cells).
    var isForget: Bool { count == 0 }

    /// Bytes of the record header (length and checksum) in front of every body.
    static let headerBytes = 8
    /// Largest body accepted when reading a log (guards allocation from a corrupt length).
    static let maxBodyBytes = 1 << 31

    /// Bytes of the framed record (header + body) as `encode` writes it.
    var encodedBytes: Int {
        WALRecord.headerBytes + 8 + 4 + 4 + 2 + batch.utf8.count
            + ids.reduce(0) { $0 + 2 + $1.utf8.count } + 4 * cells.count
    }

    /// Appends the framed record (header + body) to `out`.
    func encode(into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: [UInt8](repeating: 0, count: WALRecord.headerBytes))
        out.appendLE(sequence)
        out.appendLE(UInt32(count))
        out.appendLE(UInt32(dims))
        let batchBytes = Array(batch.utf8)
        out.appendLE(UInt16(batchBytes.count))
        out.append(contentsOf: batchBytes)
        for id in ids {
            let idBytes = Array(id.utf8)
            out.appendLE(UInt16(idBytes.count))
            out.append(contentsOf: idBytes)
        }
        cells.withUnsafeBytes { out.append(contentsOf: $0) }
        let bodyLength = out.count - start - WALRecord.headerBytes
        let crc = CRC32.checksum(out[(start + WALRecord.headerBytes)...])
        out.storeLE(UInt32(bodyLength), at: start)
        out.storeLE(crc, at: start + 4)
    }

    /// Decodes a checksummed body; nil when its inner lengths do not add up.
    static func decode(body: UnsafeRawBufferPointer) -> WALRecord? {
        var reader = RecordReader(body)
        guard let sequence = reader.u64(), let n32 = reader.u32(), let d32 = reader.u32(),
              let batchLength = reader.u16(), let batch = reader.string(Int(batchLength)) else { return nil }
        let n = Int(n32), d = Int(d32)
        let floatBytes = n.multipliedReportingOverflow(by: d * 4)
        guard !floatBytes.overflow, floatBytes.partialValue <= reader.remaining else { return nil }
        // Ids are present when the bytes before the floats are not all floats.
        var ids: [String] = []
        if reader.remaining > floatBytes.partialValue {
            ids.reserveCapacity(n)
            for _ in 0..<n {
                guard let length = reader.u16(), let id = reader.string(Int(length)) else { return nil }
                ids.append(id)
            }
        }
        guard reader.remaining == floatBytes.partialValue else { return nil }
        var cells = [Float](repeating: 0, count: n * d)
        cells.withUnsafeMutableBytes { reader.copy(into: $0) }
        return WALRecord(sequence: sequence, batch: batch, ids: ids, count: n, dims: d, cells: cells)
    }
}

// MARK: - Little-endian helpers

extension Array where Element == UInt8 {
    /// Appends `value` in little-endian byte order.
    mutating func appendLE<I: FixedWidthInteger>(_ value: I) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Overwrites `MemoryLayout<I>.size` bytes at `offset` with `value`, little-endian.
    mutating func storeLE<I: FixedWidthInteger>(_ value: I, at offset: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { src in
            for (i, byte) in src.enumerated() { self[offset + i] = byte }
        }
    }
}
