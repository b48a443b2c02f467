import HarmonyCore

// The covariates of a distributed fit as bytes, so that rank 0 alone reads the metadata table and the other
// ranks receive only what the fit needs: per covariate its name, its levels and one 4-byte code per cell.
// Layout (integers little-endian, codes in host order: every rank runs the same build): covariate count (u32);
// per covariate: name, level count (u32), levels, cell count
// (u64), codes (i32 each); every string as its UTF-8 length (u32) and bytes.

/// Encoding and decoding of covariates for `MPICommunicator.broadcast`.
public enum CovariateMessage {
    /// The bytes of `covariates`.
    public static func encode(_ covariates: [Covariate]) -> [UInt8] {
        var out: [UInt8] = []
        append(UInt32(covariates.count), to: &out)
        for covariate in covariates {
            append(covariate.name, to: &out)
            append(UInt32(covariate.levels.count), to: &out)
            for level in covariate.levels { append(level, to: &out) }
            append(UInt64(covariate.codes.count), to: &out)
            covariate.codes.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// The covariates of `bytes` (as `encode` wrote them).
    public static func decode(_ bytes: [UInt8]) -> [Covariate] {
        var at = 0
        func integer<T: FixedWidthInteger>(_: T.Type) -> T {
            defer { at += MemoryLayout<T>.size }
            return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
        }
        func string() -> String {
            let length = Int(integer(UInt32.self))
            defer { at += length }
            return String(decoding: bytes[at..<(at + length)], as: UTF8.self)
        }
        return (0..<Int(integer(UInt32.self))).map { _ in
            let name = string()
            let levels = (0..<Int(integer(UInt32.self))).map { _ in string() }
            let cells = Int(integer(UInt64.self))
            var codes = [Int32](repeating: 0, count: cells)
            codes.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { source in
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[at..<(at + cells * 4)]))
                }
            }
            at += cells * 4
            return Covariate(name: name, levels: levels, codes: codes)
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        append(UInt32(text.utf8.count), to: &out)
        out.append(contentsOf: text.utf8)
    }
}
