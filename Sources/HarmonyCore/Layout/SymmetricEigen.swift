// Eigenvectors of a small dense symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan, section 8.5):
// sweeps of rotations that zero each off-diagonal entry in turn, until the off-diagonal mass is below 1e-24 of
// the total (or 100 sweeps). Exact enough for d up to a few hundred and fully deterministic. Double throughout.

/// Leading eigenvectors of a symmetric matrix.
enum SymmetricEigen {
    /// The `count` eigenvectors of the largest eigenvalues of the `size` x `size` row-major symmetric `matrix`,
    /// each of unit length and signed so that its largest-magnitude component is positive.
    static func topVectors(_ matrix: [Double], size d: Int, count: Int) -> [[Double]] {
        var a = matrix
        var v = [Double](repeating: 0, count: d * d)
        for i in 0..<d { v[i * d + i] = 1 }
        var total = 0.0
        for x in a { total += x * x }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<d { for q in 0..<d where p != q { off += a[p * d + q] * a[p * d + q] } }
            if off <= 1e-24 * total { break }
            for p in 0..<d {
                for q in (p + 1)..<d where a[p * d + q] != 0 {
                    // The rotation angle that zeroes a[p][q] (the smaller root, for stability).
                    let theta = (a[q * d + q] - a[p * d + p]) / (2 * a[p * d + q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<d {
                        let akp = a[k * d + p], akq = a[k * d + q]
                        a[k * d + p] = c * akp - s * akq
                        a[k * d + q] = s * akp + c * akq
                    }
                    for k in 0..<d {
                        let apk = a[p * d + k], aqk = a[q * d + k]
                        a[p * d + k] = c * apk - s * aqk
                        a[q * d + k] = s * apk + c * aqk
                    }
                    for k in 0..<d {
                        let vkp = v[k * d + p], vkq = v[k * d + q]
                        v[k * d + p] = c * vkp - s * vkq
                        v[k * d + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<d).sorted { a[$0 * d + $0] > a[$1 * d + $1] || (a[$0 * d + $0] == a[$1 * d + $1] && $0 < $1) }
        return order.prefix(count).map { column in
            var vector = (0..<d).map { v[$0 * d + column] }
            let largest = vector.indices.max { abs(vector[$0]) < abs(vector[$1]) } ?? 0
            if vector[largest] < 0 { vector = vector.map { -$0 } }
            return vector
        }
    }
}
