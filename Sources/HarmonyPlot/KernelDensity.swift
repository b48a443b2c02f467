#if canImport(Glibc)
import Glibc
#endif

// A Gaussian kernel density estimate on 64 points between the smallest and largest value, with Silverman's
// rule of thumb for the bandwidth: 0.9 min(sd, IQR / 1.34) n^(-1/5) (a tiny floor for constant data).
// Values beyond 20,000 are thinned to every m-th of the sorted values, which keeps the shape and bounds the cost.

/// The smoothed distribution of some values, for violins.
struct KernelDensity {
    /// Where the density is evaluated, ascending.
    let grid: [Double]
    /// The density at each grid point.
    let densities: [Double]
    /// First quartile, median, third quartile.
    let quartiles: (Double, Double, Double)

    init(values: [Double]) {
        let sorted = values.filter(\.isFinite).sorted()
        guard let lo = sorted.first, let hi = sorted.last else {
            grid = []; densities = []; quartiles = (0, 0, 0)
            return
        }
        func quantile(_ p: Double) -> Double {
            let position = p * Double(sorted.count - 1)
            let i = Int(position), f = position - Double(i)
            return i + 1 < sorted.count ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i]
        }
        quartiles = (quantile(0.25), quantile(0.5), quantile(0.75))
        let n = Double(sorted.count)
        let mean = sorted.reduce(0, +) / n
        let sd = (sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(1, n - 1)).squareRoot()
        let iqr = quartiles.2 - quartiles.0
        let spread = iqr > 0 ? min(sd, iqr / 1.34) : sd
        let bandwidth = max(0.9 * spread * pow(n, -0.2), 1e-6 * max(1, abs(mean)))
        let stride = max(1, sorted.count / 20_000)
        let sample = Swift.stride(from: 0, to: sorted.count, by: stride).map { sorted[$0] }
        let points = 64
        grid = (0..<points).map { lo + (hi - lo) * Double($0) / Double(points - 1) }
        densities = grid.map { g in
            var s = 0.0
            for v in sample {
                let z = (g - v) / bandwidth
                s += exp(-0.5 * z * z)
            }
            return s
        }
    }
}
