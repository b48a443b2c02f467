import Foundation

// One definition of "the normalized value of a stored entry", shared by the reference build and by query projection,
// so a reference cell projected like a query lands exactly on its own PCs.
//   logCounts: v = ln(1 + targetSum * x / total), total = the cell's counts over ALL its genes (scanpy's
//              normalize_total followed by log1p); a cell with no counts stays all zero.
//   asGiven:   v = x.

extension ExpressionNormalization {
    /// The normalized value of a stored entry `x` of a cell whose library size is `total`.
    @inline(__always)
    func value(_ x: Float, total: Double) -> Double {
        switch self {
        case .asGiven:
            return Double(x)
        case .logCounts(let targetSum):
            return total > 0 ? log1p(targetSum * Double(x) / total) : 0
        }
    }

    /// Whether the raw values must be counts (non-negative integers).
    var expectsCounts: Bool {
        if case .logCounts = self { return true }
        return false
    }

    /// Whether `x` is an acceptable raw value (`problem(with:)` is nil), without branches on the way.
    @inline(__always)
    func accepts(_ x: Float) -> Bool { Self.accepts(x, counts: expectsCounts) }

    /// Whether `x` is an acceptable raw value of input that must be counts (finite non-negative integers) or not
    /// (finite). Every Float from 2^23 up is an integer; below, a round trip through Int32 drops a fraction without
    /// the library call that `rounded()` is on the x86-64 baseline.
    @inline(__always)
    static func accepts(_ x: Float, counts: Bool) -> Bool {
        guard counts else { return x.isFinite }
        return x >= 0 && (x >= 8_388_608 ? x.isFinite : Float(Int32(x)) == x)
    }

    /// Nil when `x` is an acceptable raw value; otherwise the reason, for an error message.
    @inline(__always)
    func problem(with x: Float) -> String? {
        guard x.isFinite else { return "is not a finite number" }
        if expectsCounts {
            if x < 0 { return "is negative; counts must be non-negative integers" }
            if x != x.rounded(.towardZero) { return "is not an integer; counts must be integers (give log-normalized values with --normalized)" }
        }
        return nil
    }
}
