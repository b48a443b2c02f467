// Lets the bulk array copies of ByteWriter and ByteReader fall back to element-wise byte swapping on
// big-endian hosts with one generic routine for Float, UInt32 and Int32.

/// A 4-byte number that can be viewed as its 32-bit pattern (for the big-endian fallback of bulk copies).
public protocol BitPatternConvertible {
    /// The 32 bits of the value.
    var bits32: UInt32 { get }
    /// The value with these 32 bits.
    init(bits32: UInt32)
}

extension Float: BitPatternConvertible {
    /// The IEEE-754 bit pattern.
    public var bits32: UInt32 { bitPattern }
    /// The float with this bit pattern.
    public init(bits32: UInt32) { self.init(bitPattern: bits32) }
}

extension UInt32: BitPatternConvertible {
    /// The value itself.
    public var bits32: UInt32 { self }
    /// The value itself.
    public init(bits32: UInt32) { self = bits32 }
}

extension Int32: BitPatternConvertible {
    /// The two's complement bits.
    public var bits32: UInt32 { UInt32(bitPattern: self) }
    /// The value with these two's complement bits.
    public init(bits32: UInt32) { self.init(bitPattern: bits32) }
}
