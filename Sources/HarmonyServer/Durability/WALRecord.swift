import HarmonyCore
import HarmonyProtocol

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
    func encode(into out: inout ByteWriter) {
        let start = out.count
        out.writeUInt32(0)
        out.writeUInt32(0)
        out.writeUInt64(sequence)
        out.writeCount(count)
        out.writeCount(dims)
        out.writeShortString(batch)
        for id in ids { out.writeShortString(id) }
        out.writeFloat32Array(cells)
        let bodyLength = out.count - start - WALRecord.headerBytes
        out.patchUInt32(UInt32(bodyLength), at: start)
        out.patchUInt32(CRC32.checksum(out.bytes[(start + WALRecord.headerBytes)...]), at: start + 4)
    }

    /// Decodes the checksummed body `bytes[body]`; nil when its inner lengths do not add up or a string is not
    /// valid UTF-8.
    static func decode(_ bytes: [UInt8], body: Range<Int>) -> WALRecord? {
        var reader = ByteReader(bytes, range: body)
        do {
            let sequence = try reader.readUInt64("sequence")
            let n = try reader.readCount("cell count"), d = try reader.readCount("dimensions")
            let batch = try reader.readShortString("batch")
            let floatBytes = n.multipliedReportingOverflow(by: d * 4)
            guard !floatBytes.overflow, floatBytes.partialValue <= reader.remaining else { return nil }
            // Ids are present when the bytes before the floats are not all floats.
            let ids = reader.remaining > floatBytes.partialValue ? try reader.readShortStrings(n, "cell id") : []
            guard reader.remaining == floatBytes.partialValue else { return nil }
            let cells = try reader.readFloat32Array(n * d, "cells")
            return WALRecord(sequence: sequence, batch: batch, ids: ids, count: n, dims: d, cells: cells)
        } catch {
            return nil
        }
    }
}
