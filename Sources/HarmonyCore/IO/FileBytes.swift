import CZlib
import HarmonySystem

/// Whole-file reads that decompress gzip transparently.
///
/// Plain files are read in one go into a buffer of their size; gzip files (detected by their magic bytes, not
/// their name) are inflated straight into a buffer that grows geometrically, without intermediate chunks.
public enum FileBytes {
    /// The bytes of `path`, decompressed if the file is gzip-compressed.
    public static func read(_ path: String) throws -> [UInt8] {
        let bytes = try readStored(path)
        guard bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b else { return bytes }
        return try inflate(bytes, path: path)
    }

    /// The bytes of `path` exactly as stored (no decompression).
    public static func readStored(_ path: String) throws -> [UInt8] {
        do {
            return try SystemCall.readFile(path)
        } catch let error as SystemCallError {
            throw HarmonyError.io("\(path): \(error.call == "open" ? "cannot open for reading" : "cannot read"): "
                                  + error.reason)
        }
    }

    /// Inflates gzip data (one or more concatenated members, as `Gzip.compress` and pigz write).
    static func inflate(_ compressed: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 32: accept a gzip (or zlib) header automatically.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw HarmonyError.io("\(path): cannot start the decompressor")
        }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: max(1 << 16, compressed.count * 4))
        var produced = 0, consumed = 0
        var input = compressed
        while true {
            if produced == out.count { out.append(contentsOf: repeatElement(0, count: out.count)) }
            let rc: Int32 = input.withUnsafeMutableBufferPointer { inBuf in
                out.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_in = inBuf.baseAddress! + consumed
                    stream.avail_in = UInt32(min(inBuf.count - consumed, Int(UInt32.max)))
                    stream.next_out = outBuf.baseAddress! + produced
                    stream.avail_out = UInt32(min(outBuf.count - produced, Int(UInt32.max)))
                    let before = (stream.avail_in, stream.avail_out)
                    let rc = CZlib.inflate(&stream, Z_NO_FLUSH)
                    consumed += Int(before.0 - stream.avail_in)
                    produced += Int(before.1 - stream.avail_out)
                    return rc
                }
            }
            if rc == Z_STREAM_END {
                // Another gzip member may follow (multi-member files); skip trailing zero padding.
                while consumed < compressed.count && compressed[consumed] == 0 { consumed += 1 }
                if consumed >= compressed.count { break }
                guard inflateReset(&stream) == Z_OK else { throw HarmonyError.fileFormat("\(path): cannot decompress") }
                continue
            }
            if rc == Z_BUF_ERROR && consumed >= compressed.count {
                throw HarmonyError.fileFormat("\(path): the gzip data is truncated")
            }
            guard rc == Z_OK || rc == Z_BUF_ERROR else {
                let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw HarmonyError.fileFormat("\(path): cannot decompress: \(reason)")
            }
        }
        out.removeLast(out.count - produced)
        return out
    }
}
