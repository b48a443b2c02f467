import Foundation

// Variable genes as scanpy's highly_variable_genes(flavor="seurat_v3", batch_key=...) computes them (Seurat's vst
// on raw counts), per batch b over the candidate genes:
//   mean m_g, variance v_g (N_b - 1) of the raw values;
//   loess of log10(v_g) on log10(m_g) over the genes with v_g > 0 (span 0.3, degree 2) -> fitted f_g
//     (genes with v_g = 0 keep f_g = 0); regularized SD r_g = sqrt(10^f_g);
//   values clipped at m_g + sqrt(N_b) r_g, and the normalized variance of the clipped values x':
//     nv_g = (N_b m_g^2 + sum x'^2 - 2 m_g sum x') / ((N_b - 1) r_g^2);
//   rank_g = position of nv_g in decreasing order (0 = most variable; ties by gene order).
// Across batches: n_g = number of batches with rank_g < N, and the median of those ranks (none: last).
// The N genes first in (median rank ascending, n_g descending, gene order) are selected.

/// Per-batch raw-value sums of the candidate genes, and the seurat_v3 ranking built from them.
struct VariableGeneStatistics {
    /// Cells per batch.
    var cells: [Int]
    /// Per batch, sum of x per gene (batches x genes, row-major).
    var sums: [Double]
    /// Per batch, sum of x^2 per gene.
    var squares: [Double]
    let geneCount: Int

    init(batchCount: Int, geneCount: Int) {
        self.geneCount = geneCount
        cells = [Int](repeating: 0, count: batchCount)
        sums = [Double](repeating: 0, count: batchCount * geneCount)
        squares = sums
    }

    var batchCount: Int { cells.count }

    /// Mean and variance (N - 1) of gene g in batch b.
    func meanVariance(batch b: Int, gene g: Int) -> (Double, Double) {
        let n = Double(cells[b])
        guard n > 0 else { return (0, 0) }
        let mean = sums[b * geneCount + g] / n
        guard n > 1 else { return (mean, 0) }
        let v = (squares[b * geneCount + g] - n * mean * mean) / (n - 1)
        return (mean, max(0, v))
    }

    /// Per batch, the regularized SD r_g of every gene from the loess trend (batches x genes); candidates only.
    func regularizedSD(candidates: [Int]) -> [Double] {
        var out = [Double](repeating: 1, count: batchCount * geneCount)
        for b in 0..<batchCount where cells[b] > 1 {
            var xs: [Double] = [], ys: [Double] = [], which: [Int] = []
            for g in candidates {
                let (m, v) = meanVariance(batch: b, gene: g)
                // v > 0 implies m > 0 for non-negative values; other inputs (--normalized) may have m <= 0.
                if v > 0 && m > 0 { xs.append(log10(m)); ys.append(log10(v)); which.append(g) }
            }
            let fitted = Loess.fit(x: xs, y: ys, span: 0.3, degree: 2)
            for (i, g) in which.enumerated() { out[b * geneCount + g] = pow(10, fitted[i]).squareRoot() }
        }
        return out
    }

    /// Per batch, the clip value m_g + sqrt(N_b) r_g of every gene (batches x genes).
    func clipValues(regularizedSD r: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: batchCount * geneCount)
        for b in 0..<batchCount {
            let root = Double(cells[b]).squareRoot()
            for g in 0..<geneCount {
                out[b * geneCount + g] = meanVariance(batch: b, gene: g).0 + root * r[b * geneCount + g]
            }
        }
        return out
    }

    /// The selected genes (sorted by gene index) from the clipped sums of a second pass.
    func select(count: Int, candidates: [Int], regularizedSD r: [Double], clipped: VariableGeneStatistics) -> [Int] {
        let c = candidates.count
        let take = min(count, c)
        var ranks = [[Int]](repeating: [], count: c)   // per candidate, its ranks below `count` over batches
        var nv = [Double](repeating: 0, count: c)
        for b in 0..<batchCount where cells[b] > 1 {
            let n = Double(cells[b])
            for (i, g) in candidates.enumerated() {
                let m = meanVariance(batch: b, gene: g).0
                let rg = r[b * geneCount + g]
                let s = clipped.sums[b * geneCount + g], s2 = clipped.squares[b * geneCount + g]
                nv[i] = (n * m * m + s2 - 2 * s * m) / ((n - 1) * rg * rg)
            }
            let order = (0..<c).sorted { nv[$0] > nv[$1] || (nv[$0] == nv[$1] && $0 < $1) }
            for rank in 0..<take { ranks[order[rank]].append(rank) }
        }
        func median(_ v: [Int]) -> Double {
            let s = v.sorted(), k = s.count
            return k % 2 == 1 ? Double(s[k / 2]) : Double(s[k / 2 - 1] + s[k / 2]) / 2
        }
        let medians = ranks.map { $0.isEmpty ? Double.infinity : median($0) }
        let order = (0..<c).sorted {
            if medians[$0] != medians[$1] { return medians[$0] < medians[$1] }
            if ranks[$0].count != ranks[$1].count { return ranks[$0].count > ranks[$1].count }
            return $0 < $1
        }
        return order.prefix(take).map { candidates[$0] }.sorted()
    }
}
