/// Appends little-endian binary values to a byte buffer (model files).
struct ByteWriter {
    /// The bytes written so far.
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    /// A length-prefixed (u32) UTF-8 string.
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Raw IEEE-754 values, bulk-copied (the host is little-endian; checked by `ModelFile`).
    mutating func doubles(_ values: [Double]) { values.withUnsafeBytes { bytes.append(contentsOf: $0) } }

    mutating func floats(_ values: [Float]) { values.withUnsafeBytes { bytes.append(contentsOf: $0) } }

    mutating func int32s(_ values: [Int32]) { values.withUnsafeBytes { bytes.append(contentsOf: $0) } }

    /// Zero bytes up to the next multiple of `alignment`.
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// Overwrites a u32 at `offset` (for fields known only after later bytes are written).
    mutating func patchU32(_ v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for (i, b) in src.enumerated() { bytes[offset + i] = b }
        }
    }

    /// Overwrites a u64 at `offset`.
    mutating func patchU64(_ v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for (i, b) in src.enumerated() { bytes[offset + i] = b }
        }
    }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
}
