import CZlib

/// In-memory gzip compression (RFC 1952 container), used for `.gz` outputs.
public enum Gzip {
    /// `bytes` compressed as one gzip member. Level 4 trades a little size for speed on large embeddings.
    public static func compress(_ bytes: [UInt8], level: Int32 = 4) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16 asks zlib for a gzip header and trailer instead of the zlib ones.
        var rc = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw HarmonyError.io("gzip: cannot start the compressor (zlib error \(rc))") }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        var input = bytes
        rc = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw HarmonyError.io("gzip: compression failed (zlib error \(rc))") }
        out.removeLast(out.count - Int(stream.total_out))
        return out
    }
}
