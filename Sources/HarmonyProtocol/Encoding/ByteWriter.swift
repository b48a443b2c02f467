// Little-endian serialisation into a growing byte array: the wire protocol's frames, model files and harmonyd's
// log records. Bulk arrays of numbers are copied as raw bytes on little-endian hosts (every Linux target we
// build for); the big-endian path swaps element by element.

/// Appends little-endian integers, floats, strings and bulk arrays to a byte buffer.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Number of bytes written so far.
    public var count: Int { bytes.count }

    /// Appends one byte.
    public mutating func writeUInt8(_ v: UInt8) { bytes.append(v) }

    /// Appends a u16, little-endian.
    public mutating func writeUInt16(_ v: UInt16) { appendRaw(v.littleEndian) }

    /// Appends a u32, little-endian.
    public mutating func writeUInt32(_ v: UInt32) { appendRaw(v.littleEndian) }

    /// Appends a u64, little-endian.
    public mutating func writeUInt64(_ v: UInt64) { appendRaw(v.littleEndian) }

    /// Appends an i32, little-endian two's complement.
    public mutating func writeInt32(_ v: Int32) { appendRaw(v.littleEndian) }

    /// Appends an IEEE-754 binary32, little-endian.
    public mutating func writeFloat32(_ v: Float) { appendRaw(v.bitPattern.littleEndian) }

    /// Appends an IEEE-754 binary64, little-endian.
    public mutating func writeFloat64(_ v: Double) { appendRaw(v.bitPattern.littleEndian) }

    /// Appends an array of binary64 values, little-endian, as one bulk copy.
    public mutating func writeFloat64Array(_ values: [Double]) { appendBulk(values) }

    /// Appends a count or dimension as u32; a count above UInt32.max is a caller bug.
    public mutating func writeCount(_ v: Int) {
        precondition(v >= 0 && v <= Int(UInt32.max), "count \(v) does not fit in a u32")
        writeUInt32(UInt32(v))
    }

    /// Appends a u16 byte length and the UTF-8 bytes of `s`; longer than 65535 bytes is a caller bug.
    public mutating func writeShortString(_ s: String) {
        let utf8 = s.utf8
        precondition(utf8.count <= ProtocolLimits.maxShortStringBytes, "string of \(utf8.count) bytes exceeds u16")
        writeUInt16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Appends a u32 byte length and the UTF-8 bytes of `s`.
    public mutating func writeLongString(_ s: String) {
        let utf8 = s.utf8
        writeCount(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    /// Appends raw bytes.
    public mutating func writeBytes<C: Collection>(_ raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    /// Appends an array of binary32 values, little-endian, as one bulk copy.
    public mutating func writeFloat32Array(_ values: [Float]) { appendBulk(values) }

    /// Appends an array of u32 values, little-endian, as one bulk copy.
    public mutating func writeUInt32Array(_ values: [UInt32]) { appendBulk(values) }

    /// Appends an array of i32 values, little-endian, as one bulk copy.
    public mutating func writeInt32Array(_ values: [Int32]) { appendBulk(values) }

    /// Overwrites four bytes at `offset` with a little-endian u32 (used to patch a length written earlier).
    public mutating func patchUInt32(_ v: UInt32, at offset: Int) { patch(v, at: offset) }

    /// Overwrites eight bytes at `offset` with a little-endian u64.
    public mutating func patchUInt64(_ v: UInt64, at offset: Int) { patch(v, at: offset) }

    /// Appends zero bytes up to the next multiple of `alignment` bytes.
    public mutating func pad(toMultipleOf alignment: Int) {
        let extra = (alignment - bytes.count % alignment) % alignment
        bytes.append(contentsOf: repeatElement(0, count: extra))
    }

    /// Hands the written bytes over, leaving the writer empty.
    public mutating func take() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }

    private mutating func appendRaw<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    private mutating func patch<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= bytes.count, "patch outside the written bytes")
        withUnsafeBytes(of: v.littleEndian) { raw in
            for i in 0..<raw.count { bytes[offset + i] = raw[i] }
        }
    }

    private mutating func appendBulk<T: BitPatternConvertible>(_ values: [T]) {
        #if _endian(little)
        // Through a typed UInt8 buffer, so that append is one memcpy (a raw buffer is appended byte by byte).
        values.withUnsafeBytes { bytes.append(contentsOf: $0.bindMemory(to: UInt8.self)) }
        #else
        bytes.reserveCapacity(bytes.count + values.count * MemoryLayout<T.Bits>.size)
        for v in values { appendRaw(v.bits.littleEndian) }
        #endif
    }
}
