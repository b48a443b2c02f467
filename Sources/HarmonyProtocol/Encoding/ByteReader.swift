// Reads bytes that came from an untrusted source: a peer's payload, and also (the one little-endian reader of the
// project) the sections of a model file and the records of harmonyd's log. Every length is checked against the
// bytes that remain BEFORE anything is allocated from it, so a lying length produces a MALFORMED error, never a
// trap or a huge allocation. Strings must be valid UTF-8 (a truncated sequence is an error, not a replacement
// character). Floats read as finite are checked for NaN and infinities (NON_FINITE). Callers outside the wire
// protocol turn the `ProtocolError` into their own error type, keeping its message.

/// Reads little-endian values from a payload, throwing `ProtocolError` on any inconsistency.
public struct ByteReader {
    private let bytes: [UInt8]
    /// Offset of the next unread byte (in `bytes`, also for a reader over a range of them).
    public private(set) var offset: Int
    // One past the last byte the reader may read.
    private let end: Int

    /// A reader positioned at the start of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.init(bytes, range: 0..<bytes.count)
    }

    /// A reader over `bytes[range]` (shares the array's storage, copies nothing), positioned at its start.
    public init(_ bytes: [UInt8], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "reader range outside the bytes")
        self.bytes = bytes
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    /// Bytes not read yet.
    public var remaining: Int { end - offset }

    /// Reads one byte.
    public mutating func readUInt8(_ what: @autoclosure () -> String) throws -> UInt8 {
        try need(1, what())
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a little-endian u16.
    public mutating func readUInt16(_ what: @autoclosure () -> String) throws -> UInt16 {
        UInt16(truncatingIfNeeded: try readLittleEndian(2, what()))
    }

    /// Reads a little-endian u32.
    public mutating func readUInt32(_ what: @autoclosure () -> String) throws -> UInt32 {
        UInt32(truncatingIfNeeded: try readLittleEndian(4, what()))
    }

    /// Reads a little-endian u64.
    public mutating func readUInt64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try readLittleEndian(8, what())
    }

    /// Reads a little-endian binary32 that must be finite.
    public mutating func readFiniteFloat32(_ what: @autoclosure () -> String) throws -> Float {
        let v = Float(bitPattern: try readUInt32(what()))
        guard v.isFinite else { throw ProtocolError(.nonFinite, "\(what()) is \(v); only finite values are accepted") }
        return v
    }

    /// Reads a u32 count as Int.
    public mutating func readCount(_ what: @autoclosure () -> String) throws -> Int {
        Int(try readUInt32(what()))
    }

    /// Reads a boolean byte (0 or 1; anything else is MALFORMED).
    public mutating func readBool(_ what: @autoclosure () -> String) throws -> Bool {
        switch try readUInt8(what()) {
        case 0: return false
        case 1: return true
        case let b: throw ProtocolError(.malformed, "\(what()) must be 0 or 1, got \(b)")
        }
    }

    /// Reads a u16 byte length and that many bytes of valid UTF-8.
    public mutating func readShortString(_ what: @autoclosure () -> String) throws -> String {
        let n = Int(try readUInt16("length of \(what())"))
        return try readUTF8(n, what())
    }

    /// Reads a u32 byte length and that many bytes of valid UTF-8.
    public mutating func readLongString(_ what: @autoclosure () -> String) throws -> String {
        let n = try readCount("length of \(what())")
        return try readUTF8(n, what())
    }

    /// Reads `count` u16-prefixed strings; the count is checked against the remaining bytes first.
    public mutating func readShortStrings(_ count: Int, _ what: @autoclosure () -> String) throws -> [String] {
        // Each string takes at least its 2-byte length, which bounds a believable count.
        guard count <= remaining / 2 else {
            throw ProtocolError(.malformed, "\(count) \(what()) announced, but only \(remaining) bytes remain")
        }
        var out: [String] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(try readShortString("\(what()) #\(i)")) }
        return out
    }

    /// Reads `count` little-endian binary32 values in one bulk copy and checks that all are finite.
    public mutating func readFiniteFloat32Array(_ count: Int, _ what: @autoclosure () -> String) throws -> [Float] {
        let values: [Float] = try readBulk(count, what())
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ProtocolError(.nonFinite,
                                "\(what()) value #\(bad) is \(values[bad]); only finite values are accepted")
        }
        return values
    }

    /// Reads `count` little-endian binary32 values in one bulk copy, unchecked (the caller checks their range).
    public mutating func readFloat32Array(_ count: Int, _ what: @autoclosure () -> String) throws -> [Float] {
        try readBulk(count, what())
    }

    /// Reads an n x d cell matrix of finite binary32 values. n x d is checked for overflow and against the bytes
    /// left (BAD_DIMENSION), as is a dimension of 0 for a non-empty matrix.
    public mutating func readCellValues(cellCount n: Int, dimensions d: Int,
                                        _ what: @autoclosure () -> String) throws -> [Float] {
        if n > 0 && d == 0 { throw ProtocolError(.badDimension, "\(what()) has \(n) cells of dimension 0") }
        let (count, overflow) = n.multipliedReportingOverflow(by: d)
        guard !overflow, count <= remaining / 4 else {
            throw ProtocolError(.badDimension, "\(what()) announces \(n) x \(d) values, but the payload has only "
                                + "\(remaining) bytes left")
        }
        return try readFiniteFloat32Array(count, "\(what()) cell")
    }

    /// Reads `count` little-endian binary64 values in one bulk copy, unchecked (the caller checks their range).
    public mutating func readFloat64Array(_ count: Int, _ what: @autoclosure () -> String) throws -> [Double] {
        try readBulk(count, what())
    }

    /// Reads `count` raw bytes.
    public mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        try need(count, what())
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Reads `count` little-endian u32 values in one bulk copy.
    public mutating func readUInt32Array(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt32] {
        try readBulk(count, what())
    }

    /// Reads `count` little-endian i32 values in one bulk copy.
    public mutating func readInt32Array(_ count: Int, _ what: @autoclosure () -> String) throws -> [Int32] {
        try readBulk(count, what())
    }

    /// Throws MALFORMED unless every byte has been read.
    public func finish(_ message: @autoclosure () -> String) throws {
        guard remaining == 0 else {
            throw ProtocolError(.malformed, "\(message()) has \(remaining) unexpected trailing byte(s)")
        }
    }

    /// Throws MALFORMED unless `n` more bytes are available.
    public func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= remaining else {
            throw ProtocolError(.malformed, "payload ends early: \(what()) needs \(n) byte(s), \(remaining) remain")
        }
    }

    // The descriptions are autoclosures all the way down: building them costs a string per read, and they are
    // only needed for an error.
    private mutating func readLittleEndian(_ size: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        try need(size, what())
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += size
        return v
    }

    private mutating func readUTF8(_ n: Int, _ what: @autoclosure () -> String) throws -> String {
        try need(n, what())
        // Validated through a buffer pointer rather than the generic path over an ArraySlice: cheaper per string,
        // and a model file holds hundreds of thousands of cell ids.
        let start = offset
        let validated = bytes.withUnsafeBufferPointer {
            String(validating: UnsafeBufferPointer(rebasing: $0[start..<(start + n)]), as: UTF8.self)
        }
        guard let s = validated else {
            throw ProtocolError(.malformed, "\(what()) is not valid UTF-8")
        }
        offset += n
        return s
    }

    private mutating func readBulk<T: BitPatternConvertible>(_ count: Int, _ what: @autoclosure () -> String) throws -> [T] {
        let width = MemoryLayout<T.Bits>.size
        let (size, overflow) = count.multipliedReportingOverflow(by: width)
        guard count >= 0, !overflow, size <= remaining else {
            throw ProtocolError(.malformed, "\(what()) needs \(count) x \(width) bytes, but only \(remaining) remain")
        }
        let start = offset
        let out = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            bytes.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: src[start..<(start + size)]))
            }
            #else
            for i in 0..<count {
                var bits: T.Bits = 0
                for b in 0..<width { bits |= T.Bits(bytes[start + width * i + b]) << (8 * b) }
                (buffer.baseAddress! + i).initialize(to: T(bits: bits))
            }
            #endif
            initialized = count
        }
        offset += size
        return out
    }
}
