#if canImport(Glibc)
import Glibc
#endif

// Hypergeometric draws: the number of marked items among `draws` taken without replacement from `population`
// items of which `marked` are marked. Inversion from the mode: one uniform u, then the probabilities of the mode,
// mode + 1, mode - 1, mode + 2, ... are subtracted from u until it is used up (expected steps grow with the
// standard deviation, about 55 for 65,536 draws at 5%). The mode's probability comes from lgamma (relative error
// about 1e-7 at 10^8 items), the others from the ratio
// P(x + 1) / P(x) = (marked - x)(draws - x) / ((x + 1)(population - marked - draws + x + 1)), in Double.

extension SeededGenerator {
    /// A hypergeometric draw (see the file header); 0 <= draws, marked <= population.
    mutating func hypergeometric(population: Int, marked: Int, draws: Int) -> Int {
        let low = max(0, draws - (population - marked)), high = min(draws, marked)
        if low >= high { return low }
        let n = Double(population), k = Double(marked), m = Double(draws)
        let mode = min(high, max(low, Int((m + 1) * (k + 1) / (n + 2))))
        func lnChoose(_ a: Double, _ b: Double) -> Double { lgamma(a + 1) - lgamma(b + 1) - lgamma(a - b + 1) }
        let x0 = Double(mode)
        let pMode = exp(lnChoose(k, x0) + lnChoose(n - k, m - x0) - lnChoose(n, m))
        // P(x + 1) / P(x).
        func ratio(_ x: Int) -> Double {
            let x = Double(x)
            return (k - x) * (m - x) / ((x + 1) * (n - k - m + x + 1))
        }
        var u = uniform() - pMode
        if u <= 0 { return mode }
        var up = mode, pUp = pMode, down = mode, pDown = pMode
        while up < high || down > low {
            if up < high {
                pUp *= ratio(up)
                up += 1
                u -= pUp
                if u <= 0 { return up }
            }
            if down > low {
                pDown /= ratio(down - 1)
                down -= 1
                u -= pDown
                if u <= 0 { return down }
            }
        }
        // Only rounding leaves u above 0 here.
        return mode
    }
}
