// Lets the bulk array copies of ByteWriter and ByteReader fall back to element-wise byte swapping on
// big-endian hosts with one generic routine for Float, Double, UInt32 and Int32.

/// A number that can be viewed as its bit pattern (for the big-endian fallback of bulk copies).
public protocol BitPatternConvertible {
    /// An unsigned integer of the value's width.
    associatedtype Bits: FixedWidthInteger & UnsignedInteger
    /// The bits of the value.
    var bits: Bits { get }
    /// The value with these bits.
    init(bits: Bits)
}

extension Float: BitPatternConvertible {
    /// The IEEE-754 bit pattern.
    public var bits: UInt32 { bitPattern }
    /// The float with this bit pattern.
    public init(bits: UInt32) { self.init(bitPattern: bits) }
}

extension Double: BitPatternConvertible {
    /// The IEEE-754 bit pattern.
    public var bits: UInt64 { bitPattern }
    /// The double with this bit pattern.
    public init(bits: UInt64) { self.init(bitPattern: bits) }
}

extension UInt32: BitPatternConvertible {
    /// The value itself.
    public var bits: UInt32 { self }
    /// The value itself.
    public init(bits: UInt32) { self = bits }
}

extension Int32: BitPatternConvertible {
    /// The two's complement bits.
    public var bits: UInt32 { UInt32(bitPattern: self) }
    /// The value with these two's complement bits.
    public init(bits: UInt32) { self.init(bitPattern: bits) }
}
