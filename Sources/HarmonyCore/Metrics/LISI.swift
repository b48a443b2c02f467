#if canImport(Glibc)
import Glibc
#endif

// Local Inverse Simpson's Index (Korsunsky et al. 2019; R package `lisi`). For each cell, over its
// 3 * perplexity nearest cells including itself, with itself dropped (89 neighbours at perplexity 30):
//   P_j = exp(-beta d_j) / sum_j' exp(-beta d_j')          (d_j plain Euclidean distances)
//   H   = log(sum_j exp(-beta d_j)) + beta sum_j d_j P_j
// beta is calibrated by bisection so that H = log(perplexity): start at 1, double or halve while a bound is
// missing, else take the midpoint; at most 50 steps, stop when |H - log(perplexity)| <= 1e-5. Then
//   LISI = 1 / sum_c (sum_{j: label_j = c} P_j)^2,
// and -1 where every weight underflowed (H = 0), as the reference implementation does.

/// LISI scores of an embedding for one or more label sets (batch for iLISI, cell type for cLISI).
public enum LISI {
    /// Default perplexity (the effective number of neighbours).
    public static let defaultPerplexity = 30.0

    /// Per-cell LISI for each label set: result[s][i] is cell i's score over `labelSets[s]` (codes per cell).
    /// The kNN search is shared by all label sets.
    /// - Parameters:
    ///   - threads: worker threads (0: all cores); the result does not depend on it.
    public static func perCell(_ embedding: Matrix<Double>, labelSets: [[Int32]], perplexity: Double = defaultPerplexity,
                               threads: Int = 0) throws -> [[Double]] {
        guard perplexity > 0 else {
            throw HarmonyError.invalidParameter("the LISI perplexity must be positive (got \(perplexity))")
        }
        let n = embedding.rows
        // The perplexity is an effective number of neighbours: it cannot reach the number of other cells (and a
        // huge value must not overflow the neighbour count below).
        guard perplexity < Double(max(n, 1)) else {
            throw HarmonyError.invalidParameter("the LISI perplexity (\(perplexity)) must be below the number of "
                                                + "cells (\(n)): it is an effective number of neighbours")
        }
        let k = min(Int(3 * perplexity) - 1, n - 1)
        guard k >= 1 else {
            throw HarmonyError.invalidInput("LISI needs at least two cells and a perplexity of at least 2/3")
        }
        for labels in labelSets { precondition(labels.count == n, "one label per cell") }
        let neighbors = NearestNeighbors.exact(embedding, k: k, threads: threads)
        return labelSets.map { scores(neighbors, labels: $0, perplexity: perplexity) }
    }

    /// Per-cell LISI over precomputed neighbours.
    public static func scores(_ neighbors: NearestNeighbors, labels: [Int32], perplexity: Double) -> [Double] {
        let n = labels.count, k = neighbors.k
        let levels = Int(labels.max() ?? 0) + 1
        var out = [Double](repeating: 0, count: n)
        let tasks = max(1, min(64, n / 256))
        out.withUnsafeMutableBufferPointer { result in
            TaskRunner(requested: 0).run(tasks) { task in
                var p = [Double](repeating: 0, count: k)
                var perLabel = [Double](repeating: 0, count: levels)
                for i in (task * n / tasks)..<((task + 1) * n / tasks) {
                    let d = neighbors.distances[(i * k)..<((i + 1) * k)]
                    let h = calibrate(d, perplexity: perplexity, weights: &p)
                    if h == 0 { result[i] = -1; continue }
                    for c in 0..<levels { perLabel[c] = 0 }
                    for j in 0..<k { perLabel[Int(labels[Int(neighbors.indices[i * k + j])])] += p[j] }
                    var simpson = 0.0
                    for c in 0..<levels where perLabel[c] > 0 { simpson += perLabel[c] * perLabel[c] }
                    result[i] = 1 / simpson
                }
            }
        }
        return out
    }

    /// Finds beta by bisection; leaves the normalised weights in `weights` and returns the final entropy H.
    static func calibrate(_ d: ArraySlice<Double>, perplexity: Double, weights p: inout [Double]) -> Double {
        let logU = log(perplexity)
        var beta = 1.0, betaMin = -Double.infinity, betaMax = Double.infinity
        var h = entropy(d, beta: beta, weights: &p)
        var tries = 0
        while abs(h - logU) > 1e-5 && tries < 50 {
            if h > logU {
                betaMin = beta
                beta = betaMax.isInfinite ? beta * 2 : (beta + betaMax) / 2
            } else {
                betaMax = beta
                beta = betaMin.isInfinite ? beta / 2 : (beta + betaMin) / 2
            }
            h = entropy(d, beta: beta, weights: &p)
            tries += 1
        }
        return h
    }

    /// H for one beta, with the weights normalised in `p` (all zero, H = 0, when every weight underflows).
    private static func entropy(_ d: ArraySlice<Double>, beta: Double, weights p: inout [Double]) -> Double {
        var sum = 0.0, weighted = 0.0
        for (j, dj) in d.enumerated() {
            let w = exp(-dj * beta)
            p[j] = w
            sum += w
            weighted += dj * w
        }
        if sum == 0 {
            for j in 0..<d.count { p[j] = 0 }
            return 0
        }
        for j in 0..<d.count { p[j] /= sum }
        return log(sum) + beta * weighted / sum
    }

    /// The median of `values` (mean of the two middle values for an even count); nan when empty.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The arithmetic mean of `values`; nan when empty.
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }
}
