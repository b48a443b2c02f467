/// Summary statistics the tests compare results with.
public enum Statistics {
    /// Pearson correlation of two samples of the same length (two passes: means, then centred sums).
    public static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "pearson needs two samples of the same, non-zero length")
        let n = Double(a.count)
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in 0..<a.count {
            let x = a[i] - ma, y = b[i] - mb
            sab += x * y
            saa += x * x
            sbb += y * y
        }
        return sab / (saa * sbb).squareRoot()
    }
}
