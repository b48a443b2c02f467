// The attraction curve of the low-dimensional space, 1 / (1 + a d^(2b)), fitted by least squares to the
// target "1 up to min_dist, then exp(-(d - min_dist) / spread)" on 300 evenly spaced d in [0, 3 spread]:
// UMAP's construction (McInnes et al. 2018, section 4; umap-learn's `find_ab_params`, which calls scipy's
// curve_fit). Here the fit is a Levenberg-Marquardt iteration in Double from a = b = 1 (curve_fit's start).
// For min_dist 0.1 and spread 1 it gives the a ~ 1.577, b ~ 0.895 that umap-learn uses.

#if canImport(Glibc)
import Glibc
#endif

/// The parameters a and b of UMAP's low-dimensional similarity 1 / (1 + a d^(2b)).
public struct UMAPCurve: Sendable, Equatable {
    /// Scale of the curve.
    public let a: Double
    /// Exponent of the curve.
    public let b: Double

    /// Fits the curve to `minDist` and `spread` (requires spread > 0, 0 <= minDist < 3 spread).
    public init(minDist: Double, spread: Double) {
        let samples = 300
        let xs = (0..<samples).map { 3 * spread * Double($0) / Double(samples - 1) }
        let ys = xs.map { $0 < minDist ? 1 : exp(-($0 - minDist) / spread) }
        func residualSum(_ a: Double, _ b: Double) -> Double {
            var s = 0.0
            for (x, y) in zip(xs, ys) {
                let r = 1 / (1 + a * pow(x, 2 * b)) - y
                s += r * r
            }
            return s
        }
        var a = 1.0, b = 1.0, damping = 1e-3
        var current = residualSum(a, b)
        for _ in 0..<500 {
            // Normal equations J^T J delta = -J^T r of the two parameters, J = d f / d(a, b).
            var jaa = 0.0, jab = 0.0, jbb = 0.0, ga = 0.0, gb = 0.0
            for (x, y) in zip(xs, ys) where x > 0 {
                let p = pow(x, 2 * b), f = 1 / (1 + a * p)
                let da = -p * f * f, db = -a * p * 2 * log(x) * f * f
                let r = f - y
                jaa += da * da; jab += da * db; jbb += db * db
                ga += da * r; gb += db * r
            }
            // Marquardt's scaling of the diagonal; grow the damping until the step lowers the residual.
            var accepted = false
            while damping < 1e12 {
                let m11 = jaa * (1 + damping), m22 = jbb * (1 + damping), det = m11 * m22 - jab * jab
                let stepA = -(m22 * ga - jab * gb) / det, stepB = -(m11 * gb - jab * ga) / det
                let trial = residualSum(a + stepA, b + stepB)
                if det > 0, trial.isFinite, trial <= current {
                    let change = abs(stepA) + abs(stepB)
                    a += stepA; b += stepB; current = trial
                    damping = max(damping / 10, 1e-12)
                    accepted = change > 1e-13 * (abs(a) + abs(b))
                    break
                }
                damping *= 10
            }
            if !accepted { break }
        }
        self.a = a
        self.b = b
    }
}
