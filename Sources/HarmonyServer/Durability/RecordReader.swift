// Reading write-ahead-log bytes back: untrusted (a torn or damaged file), so every read is bounds-checked.

/// A bounds-checked little-endian reader over untrusted bytes; every read returns nil past the end.
struct RecordReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Bytes not read yet.
    var remaining: Int { bytes.count - offset }

    private mutating func integer<I: FixedWidthInteger>(_ type: I.Type) -> I? {
        let size = MemoryLayout<I>.size
        guard remaining >= size else { return nil }
        var value = I.zero
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)])) }
        offset += size
        return I(littleEndian: value)
    }

    mutating func u16() -> UInt16? { integer(UInt16.self) }
    mutating func u32() -> UInt32? { integer(UInt32.self) }
    mutating func u64() -> UInt64? { integer(UInt64.self) }

    /// `length` bytes as UTF-8; nil when short or not valid UTF-8.
    mutating func string(_ length: Int) -> String? {
        guard length >= 0, remaining >= length else { return nil }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        offset += length
        return String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self)
    }

    /// Copies `destination.count` bytes (which must remain) and advances.
    mutating func copy(into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count <= remaining, "RecordReader.copy past the end")
        destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + destination.count)]))
        offset += destination.count
    }
}
