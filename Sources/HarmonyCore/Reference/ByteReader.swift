/// Reads little-endian binary values from a byte range, throwing (never trapping) on any overrun.
struct ByteReader {
    private let base: UnsafeRawBufferPointer
    /// The read position, relative to the start of the range.
    private(set) var position: Int
    private let end: Int
    /// Prefix for error messages, e.g. "model.hmod: section LABELS".
    let context: String

    /// A reader over `bytes[start..<end]`; `bytes` must outlive the reader.
    init(_ bytes: UnsafeRawBufferPointer, start: Int, end: Int, context: String) {
        self.base = bytes
        self.position = start
        self.end = end
        self.context = context
    }

    var remaining: Int { end - position }

    func fail(_ message: String) -> HarmonyError { .fileFormat("\(context): \(message)") }

    private mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, n <= remaining else {
            throw fail("truncated (needs \(n) more bytes at offset \(position), \(remaining) left)")
        }
        defer { position += n }
        return position
    }

    mutating func u8() throws -> UInt8 { base[try take(1)] }

    mutating func u16() throws -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self)) }

    mutating func u32() throws -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self)) }

    mutating func u64() throws -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }

    /// A count that must not exceed `limit` (guards allocations against corrupt sizes).
    mutating func count32(limit: Int, what: String) throws -> Int {
        let v = Int(try u32())
        guard v <= limit else { throw fail("\(what) is \(v), more than the \(limit) the section can hold") }
        return v
    }

    mutating func string() throws -> String {
        let n = Int(try u32())
        let at = try take(n)
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: base[at..<(at + n)]), as: UTF8.self)
        guard s.utf8.count == n else { throw fail("a string is not valid UTF-8") }
        return s
    }

    mutating func doubles(_ n: Int) throws -> [Double] { try bulk(n, as: Double.self) }

    mutating func floats(_ n: Int) throws -> [Float] { try bulk(n, as: Float.self) }

    mutating func int32s(_ n: Int) throws -> [Int32] { try bulk(n, as: Int32.self) }

    // One memcpy per array: this is what makes reading a million-cell model fast.
    private mutating func bulk<T>(_ n: Int, as: T.Type) throws -> [T] {
        let (bytes, overflow) = n.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard !overflow else { throw fail("an array length overflows") }
        let at = try take(bytes)
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: base[at..<(at + bytes)]))
            initialized = n
        }
    }

    /// Throws unless every byte of the range was consumed.
    func expectEnd() throws {
        guard remaining == 0 else { throw fail("\(remaining) unexpected trailing bytes") }
    }
}
