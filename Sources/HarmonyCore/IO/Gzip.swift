import CZlib

// Large outputs are compressed in independent pieces on all cores and written as consecutive gzip members,
// which every gzip reader (gzip -d, zlib's gzread, Python's gzip, FileBytes) reads as one stream. The pieces
// have a fixed size, so the bytes do not depend on the number of cores.

/// In-memory gzip compression (RFC 1952), used for `.gz` outputs.
public enum Gzip {
    /// Bytes of input per gzip member.
    static let pieceSize = 8 << 20

    /// `bytes` compressed as one gzip member per 8 MiB piece. Level 4 for small outputs; level 1 for large
    /// ones, where time matters more than the last tenth of the size.
    public static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        let level: Int32 = bytes.count > pieceSize ? 1 : 4
        let pieces = max(1, (bytes.count + pieceSize - 1) / pieceSize)
        var results = [Result<[UInt8], HarmonyError>](repeating: .success([]), count: pieces)
        bytes.withUnsafeBufferPointer { input in
            results.withUnsafeMutableBufferPointer { slots in
                TaskRunner(requested: 0).run(pieces) { p in
                    let lo = p * pieceSize, hi = min(bytes.count, lo + pieceSize)
                    slots[p] = Result { try member(UnsafeBufferPointer(rebasing: input[lo..<hi]), level: level) }
                        .mapError { $0 as? HarmonyError ?? .io("gzip: \($0)") }
                }
            }
        }
        var out: [UInt8] = []
        for r in results { out.append(contentsOf: try r.get()) }
        return out
    }

    /// One gzip member holding `input`.
    static func member(_ input: UnsafeBufferPointer<UInt8>, level: Int32) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16 asks zlib for a gzip header (mtime 0: reproducible bytes) and trailer.
        var rc = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw HarmonyError.io("gzip: cannot start the compressor (zlib error \(rc))") }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
        rc = out.withUnsafeMutableBufferPointer { outBuf in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            stream.next_out = outBuf.baseAddress
            stream.avail_out = UInt32(outBuf.count)
            return deflate(&stream, Z_FINISH)
        }
        guard rc == Z_STREAM_END else { throw HarmonyError.io("gzip: compression failed (zlib error \(rc))") }
        out.removeLast(out.count - Int(stream.total_out))
        return out
    }
}
