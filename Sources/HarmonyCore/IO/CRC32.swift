// CRC-32 (the zlib / IEEE 802.3 polynomial) of byte ranges, through zlib's optimised `crc32_z`: the checksums
// of model file sections and of harmonyd's log records.
import CZlib

/// CRC-32 checksums.
public enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `seed` (0 for a fresh checksum).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(seed), base.assumingMemoryBound(to: Bytef.self), bytes.count))
    }

    /// The CRC-32 of an array.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }

    /// The CRC-32 of a slice of an array.
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }
}
