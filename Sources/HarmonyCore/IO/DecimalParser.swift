#if canImport(Glibc)
import Glibc
#endif

// Correctly rounded decimal parsing, fast for the common case. Clinger's fast path: when the decimal
// significand w fits in 53 bits and the power of ten |e| <= 22, both w and 10^|e| are exact doubles, so the
// single IEEE multiplication or division w * 10^e (or w / 10^-e) is correctly rounded, i.e. equal to strtod's
// result. Everything else (more digits, larger exponents, hex, inf/nan, white space) goes to strtod.

/// Parses numbers from NUL-terminated text with strtod's results, several times faster for short decimals.
enum DecimalParser {
    private static let powersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

    /// Parses a number at `p`; returns it and the first byte after it (equal to `p` when there is no number).
    @inline(__always)
    static func parse(_ p: UnsafePointer<CChar>) -> (Double, UnsafePointer<CChar>) {
        if let fast = fastPath(p) { return fast }
        var end: UnsafeMutablePointer<CChar>? = nil
        let v = strtod(p, &end)
        return (v, UnsafePointer(end!))
    }

    /// The fast path, or nil when the text needs strtod.
    @inline(__always)
    static func fastPath(_ start: UnsafePointer<CChar>) -> (Double, UnsafePointer<CChar>)? {
        var p = start
        var negative = false
        if p.pointee == 45 { negative = true; p += 1 } else if p.pointee == 43 { p += 1 }   // '-' '+'
        var w: UInt64 = 0
        var digits = 0, significant = 0, exponent = 0
        while p.pointee >= 48 && p.pointee <= 57 {
            if w != 0 || p.pointee != 48 { significant += 1 }
            w = w &* 10 &+ UInt64(p.pointee - 48)
            digits += 1; p += 1
        }
        if p.pointee == 120 || p.pointee == 88 { return nil }   // 'x' 'X': hexadecimal, strtod's job
        if p.pointee == 46 {   // '.'
            p += 1
            while p.pointee >= 48 && p.pointee <= 57 {
                if w != 0 || p.pointee != 48 { significant += 1 }
                w = w &* 10 &+ UInt64(p.pointee - 48)
                exponent -= 1
                digits += 1; p += 1
            }
        }
        guard digits > 0, significant <= 19 else { return nil }
        if p.pointee == 101 || p.pointee == 69 {   // 'e' 'E'
            var q = p + 1
            var expNegative = false
            if q.pointee == 45 { expNegative = true; q += 1 } else if q.pointee == 43 { q += 1 }
            guard q.pointee >= 48 && q.pointee <= 57 else { return nil }
            var e = 0
            while q.pointee >= 48 && q.pointee <= 57 {
                guard e < 10_000 else { return nil }
                e = e * 10 + Int(q.pointee - 48)
                q += 1
            }
            exponent += expNegative ? -e : e
            p = q
        }
        guard w <= (1 << 53), exponent >= -22, exponent <= 22 else { return nil }
        var v = Double(w)
        v = exponent < 0 ? v / powersOfTen[-exponent] : v * powersOfTen[exponent]
        return (negative ? -v : v, p)
    }
}
