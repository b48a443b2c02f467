// CRC-32 (the zlib / IEEE 802.3 polynomial) of byte ranges, through zlib's optimised `crc32`.
import CZlib

/// Checksums for write-ahead-log records.
enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `seed` (0 for a fresh checksum).
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        var crc = UInt(seed)
        var offset = 0
        // zlib takes a 32-bit length; feed very large ranges in pieces.
        while offset < bytes.count {
            let piece = min(bytes.count - offset, 1 << 30)
            crc = crc32(crc, base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), UInt32(piece))
            offset += piece
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The CRC-32 of an array slice.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
