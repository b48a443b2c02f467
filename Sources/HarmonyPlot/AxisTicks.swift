import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// "Nice" tick positions for an axis: steps of 1, 2 or 5 times a power of ten, about `target` of them.
enum AxisTicks {
    static func positions(low: Double, high: Double, target: Int = 5) -> [Double] {
        guard high > low, low.isFinite, high.isFinite else { return [low] }
        let raw = (high - low) / Double(max(1, target))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var t = ceil(low / step) * step
        while t <= high + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return ticks
    }

    /// A short label for a tick value: up to 4 significant digits, no trailing zeros.
    static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 {
            var s = String(format: "%.2e", value)
            s = s.replacingOccurrences(of: ".00e", with: "e")
            return s
        }
        var s = String(format: "%.4g", value)
        if s.contains(".") && !s.contains("e") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }
}
