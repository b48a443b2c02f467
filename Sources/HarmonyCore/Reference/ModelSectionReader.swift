import HarmonyProtocol

// The model file is read with the project's one little-endian reader (HarmonyProtocol's `ByteReader`: bounds
// checked before any allocation, strict UTF-8); this wrapper names the file and section in its errors and
// turns them into `HarmonyError.fileFormat`.

/// Reads one section of a model file; every failure is a `HarmonyError.fileFormat` naming file and section.
struct ModelSectionReader {
    private var reader: ByteReader
    /// Prefix for error messages, e.g. "model.hmod: section LABELS".
    let context: String

    /// A reader over `bytes[range]`.
    init(_ bytes: [UInt8], range: Range<Int>, context: String) {
        reader = ByteReader(bytes, range: range)
        self.context = context
    }

    var remaining: Int { reader.remaining }

    func fail(_ message: String) -> HarmonyError { .fileFormat("\(context): \(message)") }

    // Runs one read, translating the reader's error (its message says what was short or invalid).
    private mutating func read<T>(_ body: (inout ByteReader) throws -> T) throws -> T {
        do {
            return try body(&reader)
        } catch let error as ProtocolError {
            throw fail(error.message)
        }
    }

    mutating func u8() throws -> UInt8 { try read { try $0.readUInt8("a byte") } }

    mutating func u16() throws -> UInt16 { try read { try $0.readUInt16("a u16") } }

    mutating func u32() throws -> UInt32 { try read { try $0.readUInt32("a u32") } }

    mutating func u64() throws -> UInt64 { try read { try $0.readUInt64("a u64") } }

    /// A count that must not exceed `limit` (guards allocations against corrupt sizes).
    mutating func count32(limit: Int, what: String) throws -> Int {
        let v = Int(try u32())
        guard v <= limit else { throw fail("\(what) is \(v), more than the \(limit) the section can hold") }
        return v
    }

    /// A u32-length-prefixed string of valid UTF-8.
    mutating func string() throws -> String { try read { try $0.readLongString("a string") } }

    mutating func doubles(_ n: Int) throws -> [Double] { try read { try $0.readFloat64Array(n, "an array of doubles") } }

    mutating func floats(_ n: Int) throws -> [Float] { try read { try $0.readFloat32Array(n, "an array of floats") } }

    mutating func int32s(_ n: Int) throws -> [Int32] { try read { try $0.readInt32Array(n, "an array of int32") } }

    /// Throws unless every byte of the range was consumed.
    func expectEnd() throws {
        guard remaining == 0 else { throw fail("\(remaining) unexpected trailing bytes") }
    }
}
