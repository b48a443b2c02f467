// Reading a write-ahead log back at start-up (loop not running yet, so a plain blocking read is fine).

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

    /// Reads the log at `path`; a missing file is an empty log. A torn or corrupt LAST record is dropped
    /// and reported; a corrupt record followed by further data means the file was damaged otherwise, and
    /// is refused rather than silently losing acknowledged cells.
    static func read(path: String) throws -> WALRecovery {
        guard let bytes = try? StateFiles.read(path) else {
            return WALRecovery(records: [], validBytes: 0, discardedBytes: 0, discardReason: nil)
        }
        return try parse(bytes, path: path)
    }

    /// Parses log bytes (see `WALRecord` for the layout).
    static func parse(_ bytes: [UInt8], path: String) throws -> WALRecovery {
        let magic = WriteAheadLog.fileMagic
        if bytes.count < magic.count {
            // A log cut before its header was complete holds no records.
            return WALRecovery(records: [], validBytes: 0, discardedBytes: bytes.count,
                               discardReason: bytes.isEmpty ? nil : "the file header is incomplete")
        }
        guard Array(bytes[0..<magic.count]) == magic else {
            throw ServerError.io("\(path) is not a harmonyd write-ahead log (wrong magic)")
        }
        var records: [WALRecord] = []
        var offset = magic.count
        var reason: String?
        // The log's content ends at its last non-zero byte; zeros after it are preallocated space.
        let contentEnd = (bytes.lastIndex(where: { $0 != 0 }) ?? -1) + 1
        try bytes.withUnsafeBytes { all in
            while offset < contentEnd {
                let recordStart = offset
                var header = RecordReader(UnsafeRawBufferPointer(rebasing: all[offset...]))
                guard let length32 = header.u32(), let crc = header.u32() else {
                    reason = "the last record's header is incomplete"
                    return
                }
                // A zero header ends the log: no record has an empty body. Non-zero bytes after it can only
                // come from the last write, which was never acknowledged (its header sector did not land).
                if length32 == 0 && crc == 0 {
                    reason = "bytes after the end of the log (a torn last write)"
                    return
                }
                let length = Int(length32)
                let bodyStart = offset + WALRecord.headerBytes
                guard length <= WALRecord.maxBodyBytes, bodyStart + length <= all.count else {
                    reason = "the last record is truncated (\(all.count - bodyStart) of \(length) bytes)"
                    return
                }
                let body = UnsafeRawBufferPointer(rebasing: all[bodyStart..<(bodyStart + length)])
                let isLast = bodyStart + length >= contentEnd
                guard CRC32.checksum(body) == crc, let record = WALRecord.decode(body: body) else {
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
        }
        return WALRecovery(records: records, validBytes: offset, discardedBytes: max(0, contentEnd - offset),
                           discardReason: reason)
    }
}
