import HarmonyCore
import HarmonyProtocol
// Reading a write-ahead log back at start-up (loop not running yet, so a plain blocking read is fine).
#if canImport(Glibc)
import Glibc
#endif

/// The complete records of a log, and what was cut from its end.
struct WALRecovery {
    /// Records in log order.
    var records: [WALRecord]
    /// Bytes from the start of the file through the last complete record.
    var validBytes: Int
    /// Bytes after the last complete record up to the last non-zero byte (a torn or corrupt last write);
    /// 0 for a clean log. Zeros after the records are preallocated space, not damage.
    var discardedBytes: Int
    /// Why the tail was discarded, for the log output; nil for a clean log.
    var discardReason: String?

    /// Reads the log at `path`; only a missing file is an empty log: a log that exists but cannot be read stops
    /// the start (treating it as empty would truncate acknowledged cells away). A torn or corrupt LAST record is
    /// dropped and reported; a corrupt record followed by further data means the file was damaged otherwise, and
    /// is refused rather than silently losing acknowledged cells. `readFile` is replaced by fault-injection tests.
    static func read(path: String, readFile: (String) throws -> [UInt8] = StateFiles.read) throws -> WALRecovery {
        var info = stat()
        if lstat(path, &info) != 0 && errno == ENOENT {
            return WALRecovery(records: [], validBytes: 0, discardedBytes: 0, discardReason: nil)
        }
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            throw ServerError.io("the write-ahead log cannot be read (\(error)); harmonyd will not start without "
                                 + "the cells it holds: fix the file or the disk, or move it aside to start empty")
        }
        return try parse(bytes, path: path)
    }

    /// Parses log bytes (see `WALRecord` for the layout). A checkpoint file (`Checkpoint`) has the same records
    /// after its own `magic` and header: they start at `recordsFrom` (default: right after the magic).
    static func parse(_ bytes: [UInt8], path: String, magic: [UInt8] = WriteAheadLog.fileMagic,
                      recordsFrom: Int? = nil) throws -> WALRecovery {
        if bytes.count < magic.count {
            // A log cut before its header was complete holds no records.
            return WALRecovery(records: [], validBytes: 0, discardedBytes: bytes.count,
                               discardReason: bytes.isEmpty ? nil : "the file header is incomplete")
        }
        guard Array(bytes[0..<magic.count]) == magic else {
            throw ServerError.io("\(path) is not a harmonyd write-ahead log (wrong magic)")
        }
        var records: [WALRecord] = []
        var offset = max(magic.count, min(recordsFrom ?? 0, bytes.count))
        var reason: String?
        // The log's content ends at its last non-zero byte; zeros after it are preallocated space.
        let contentEnd = (bytes.lastIndex(where: { $0 != 0 }) ?? -1) + 1
        try {
            while offset < contentEnd {
                let recordStart = offset
                guard let (length32, crc) = recordHeader(bytes, at: offset) else {
                    reason = "the last record's header is incomplete"
                    return
                }
                // A zero header ends the log: no record has an empty body. Non-zero bytes after it come from a
                // last write whose header sector did not land, unless a complete record follows: then records
                // the server acknowledged were zeroed, and starting would silently drop them.
                if length32 == 0 && crc == 0 {
                    if let later = firstValidRecord(in: bytes, from: offset + WALRecord.headerBytes,
                                                        to: contentEnd) {
                        throw ServerError.io("\(path) is corrupt at byte \(recordStart): a zeroed record header is "
                                             + "followed by a valid record at byte \(later); move the file aside to "
                                             + "start without those cells")
                    }
                    reason = "bytes after the end of the log (a torn last write)"
                    return
                }
                let length = Int(length32)
                let bodyStart = offset + WALRecord.headerBytes
                guard length <= WALRecord.maxBodyBytes, bodyStart + length <= bytes.count else {
                    reason = "the last record is truncated (\(bytes.count - bodyStart) of \(length) bytes)"
                    return
                }
                let body = bodyStart..<(bodyStart + length)
                let isLast = bodyStart + length >= contentEnd
                guard CRC32.checksum(bytes[body]) == crc, let record = WALRecord.decode(bytes, body: body) else {
                    if isLast {
                        reason = "the last record fails its checksum"
                        return
                    }
                    throw ServerError.io("\(path) is corrupt at byte \(recordStart) (checksum mismatch before "
                                         + "further records); move it aside to start without those cells")
                }
                records.append(record)
                offset = bodyStart + length
            }
        }()
        return WALRecovery(records: records, validBytes: offset, discardedBytes: max(0, contentEnd - offset),
                           discardReason: reason)
    }

    /// The offset of the first position in `from..<to` where a complete record with a matching checksum starts,
    /// or nil. Only used on a damaged log, so a byte-by-byte scan is affordable.
    static func firstValidRecord(in bytes: [UInt8], from start: Int, to end: Int) -> Int? {
        var position = start
        while position + WALRecord.headerBytes < end {
            if let (length32, crc) = recordHeader(bytes, at: position), length32 > 0 {
                let bodyStart = position + WALRecord.headerBytes
                let length = Int(length32)
                if length <= WALRecord.maxBodyBytes, bodyStart + length <= end {
                    let body = bodyStart..<(bodyStart + length)
                    if CRC32.checksum(bytes[body]) == crc, WALRecord.decode(bytes, body: body) != nil { return position }
                }
            }
            position += 1
        }
        return nil
    }

    /// The (body length, checksum) header of the record at `offset`, or nil when fewer than 8 bytes remain.
    static func recordHeader(_ bytes: [UInt8], at offset: Int) -> (UInt32, UInt32)? {
        var reader = ByteReader(bytes, range: offset..<bytes.count)
        guard let length = try? reader.readUInt32("record length"), let crc = try? reader.readUInt32("checksum") else {
            return nil
        }
        return (length, crc)
    }
}
