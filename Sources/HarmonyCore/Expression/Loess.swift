// Local regression (loess, Cleveland & Devlin 1988) of one response on one predictor, computed the way the
// reference implementation (netlib dloess, used by R's loess and Python's scikit-misc) does by default
// (surface = "interpolate"), because scanpy's seurat_v3 gene selection runs it that way:
//
//   Local fit at a point v: the nf = floor(n * span + 1e-5) points nearest v, tricube weights
//     w = (1 - (|x - v| / h)^3)^3 with h the distance to the nf-th nearest, and a weighted least-squares
//     polynomial of `degree` in (x - v); it gives a value and a slope at v.
//   Vertices: a 1-d k-d tree over the sorted x. The root cell spans [min - m, max + m], m = 0.5% of the range.
//     A cell holding more than fc = floor(n * span * cell) points is split at its median point (ties: the
//     nearest position, alternating above and below, where two consecutive values differ; all equal values go
//     to the upper cell), unless that value is one of the cell's ends. Cell ends are the vertices.
//   Fitted values: in the cell holding x (x equal to a split value belongs to the lower cell), the cubic Hermite
//     interpolant of the values and slopes at the cell's two ends.
// The fitted values agree with scikit-misc's loess to rounding (measured ~1e-12 on log10 variances of real genes).
//
// It never fails. Degenerate local fits fall back, in this order:
//   - fewer distinct x values with positive weight than degree + 1, or a normal-equation pivot below 1e-10 of
//     its diagonal (near-singular): the next lower degree (2 -> 1 -> 0; degree 0 has slope 0);
//   - h = 0 (more than nf points share the value v): the mean of y over all points at v, slope 0;
//   - every neighbour exactly at distance h (all weights 0, e.g. a vertex just outside identical x values): the
//     plain mean of the neighbours' y, slope 0.
// Degree 0 is the weighted mean of y, which exists because the nearest point has positive weight.
// Double throughout: n is at most the number of genes, and the sums of u^4 need the precision.

/// Loess of one response on one predictor (degree 0 to 2), as dloess's interpolated surface.
public enum Loess {
    /// Fitted values at every `x[i]` of a local regression of `y` on `x`.
    /// - Parameters:
    ///   - span: fraction of the points in each local fit (0 < span <= 1).
    ///   - degree: local polynomial degree, 0, 1 or 2.
    ///   - cell: cells of the interpolation tree hold at most floor(n * span * cell) points (dloess's default 0.2).
    public static func fit(x: [Double], y: [Double], span: Double, degree: Int, cell: Double = 0.2) -> [Double] {
        let n = x.count
        precondition(y.count == n && degree >= 0 && degree <= 2 && span > 0 && cell > 0, "loess: bad arguments")
        if n == 0 { return [] }
        let order = (0..<n).sorted { x[$0] < x[$1] || (x[$0] == x[$1] && $0 < $1) }
        let xs = order.map { x[$0] }, ys = order.map { y[$0] }
        let q = max(1, min(n, Int((Double(n) * span + 1e-5).rounded(.down))))
        let vertices = treeVertices(xs, leafSize: Int((Double(n) * span * cell).rounded(.down)))
        let fits = vertices.map { localFit(xs: xs, ys: ys, at: $0, neighbours: q, degree: degree) }
        var fitted = [Double](repeating: 0, count: n)
        var j = 1
        for i in 0..<n {
            let z = xs[i]
            while j < vertices.count - 1 && vertices[j] < z { j += 1 }
            let v0 = vertices[j - 1], v1 = vertices[j], width = v1 - v0
            let h = (z - v0) / width
            let phi0 = (1 - h) * (1 - h) * (1 + 2 * h), phi1 = h * h * (3 - 2 * h)
            let psi0 = h * (1 - h) * (1 - h), psi1 = h * h * (h - 1)
            fitted[order[i]] = phi0 * fits[j - 1].value + phi1 * fits[j].value
                + (psi0 * fits[j - 1].slope + psi1 * fits[j].slope) * width
        }
        return fitted
    }

    /// The sorted vertices of the 1-d k-d tree over sorted `xs` (at least the two ends of the bounding cell).
    static func treeVertices(_ xs: [Double], leafSize fc: Int) -> [Double] {
        let lo = xs.first!, hi = xs.last!
        let margin = 0.005 * max(hi - lo, 1e-10 * max(abs(lo), abs(hi)) + 1e-30)
        var vertices = [lo - margin, hi + margin]
        var stack = [(l: 0, u: xs.count - 1, low: lo - margin, high: hi + margin)]
        while let c = stack.popLast() {
            guard c.u - c.l + 1 > fc else { continue }
            // Median position, moved to the nearest place (0, +1, -1, +2, ...) where the next value differs.
            var m = (c.l + c.u) / 2
            var offset = 0
            while m + offset < c.u && m + offset >= c.l {
                if xs[m + offset] == xs[m + offset + 1] {
                    offset = -offset
                    if offset >= 0 { offset += 1 }
                } else {
                    m += offset
                    break
                }
            }
            let split = xs[m]
            guard split != c.low && split != c.high else { continue }
            vertices.append(split)
            stack.append((c.l, m, c.low, split))
            stack.append((m + 1, c.u, split, c.high))
        }
        return vertices.sorted()
    }

    /// Value and slope at `v` of the local fit over the `neighbours` points of sorted `xs` nearest `v`.
    static func localFit(xs: [Double], ys: [Double], at v: Double, neighbours q: Int,
                         degree: Int) -> (value: Double, slope: Double) {
        let n = xs.count
        // The q nearest are a window; slide it right from the leftmost window that can hold them.
        var first = 0, last = n
        while first < last { let mid = (first + last) / 2; if xs[mid] < v { first = mid + 1 } else { last = mid } }
        var lo = max(0, min(n - q, first - q))
        while lo + q < n && xs[lo + q] - v < v - xs[lo] { lo += 1 }
        let window = lo..<(lo + q)
        let h = max(abs(v - xs[lo]), abs(xs[lo + q - 1] - v))
        guard h > 0 else {
            var s = 0.0, c = 0.0, j = first
            while j < n && xs[j] == v { s += ys[j]; c += 1; j += 1 }
            return (s / c, 0)
        }
        // Moments S_p = sum w u^p (p <= 4) and T_p = sum w u^p y (p <= 2), u = (x - v) / h.
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, t0 = 0.0, t1 = 0.0, t2 = 0.0
        var distinct = 0
        var previous = -Double.infinity
        for j in window {
            let u = (xs[j] - v) / h
            let a = abs(u)
            guard a < 1 else { continue }
            let c = 1 - a * a * a
            let w = c * c * c
            if xs[j] != previous { distinct += 1; previous = xs[j] }
            let wu = w * u, wuu = wu * u
            s0 += w; s1 += wu; s2 += wuu; s3 += wuu * u; s4 += wuu * u * u
            t0 += w * ys[j]; t1 += wu * ys[j]; t2 += wuu * ys[j]
        }
        if s0 == 0 {
            // Every neighbour sits exactly at distance h (zero tricube weight): their plain mean.
            var sum = 0.0
            for j in window { sum += ys[j] }
            return (sum / Double(q), 0)
        }
        let s = [s0, s1, s2, s3, s4], t = [t0, t1, t2]
        var d = min(degree, distinct - 1)
        while d > 0 {
            if let b = solve(s: s, t: t, degree: d) { return (b.0, b.1 / h) }
            d -= 1
        }
        return (t0 / s0, 0)
    }

    // Solves the (degree+1)^2 normal equations [S_{i+j}] b = [T_i] by Gaussian elimination without pivoting (the
    // matrix is symmetric positive semi-definite); (b0, b1), or nil when a pivot falls below 1e-10 of its diagonal.
    private static func solve(s: [Double], t: [Double], degree: Int) -> (Double, Double)? {
        let m = degree + 1
        var a = [Double](repeating: 0, count: m * m), b = Array(t[0..<m])
        for i in 0..<m { for j in 0..<m { a[i * m + j] = s[i + j] } }
        for k in 0..<m {
            let pivot = a[k * m + k]
            guard pivot > 1e-10 * s[2 * k], pivot > 0 else { return nil }
            for i in (k + 1)..<m {
                let f = a[i * m + k] / pivot
                for j in k..<m { a[i * m + j] -= f * a[k * m + j] }
                b[i] -= f * b[k]
            }
        }
        var coef = [Double](repeating: 0, count: m)
        for i in stride(from: m - 1, through: 0, by: -1) {
            var value = b[i]
            for j in (i + 1)..<m { value -= a[i * m + j] * coef[j] }
            coef[i] = value / a[i * m + i]
        }
        guard coef.allSatisfy({ $0.isFinite }) else { return nil }
        return (coef[0], coef[1])
    }
}
