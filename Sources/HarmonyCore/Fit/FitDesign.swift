// The design matrix Phi of a fit, stored as indices (never densely; Protocols/algorithm.md §1).
//
// Global levels concatenate every covariate's levels in order (covariate 0's levels first). Each cell has one
// global level per covariate: `cellLevels[i * C + c]`. Cells are also grouped by their *combination* of levels
// (one group per distinct tuple; with one covariate, groups are the levels). Every sufficient statistic of the
// ridge correction (counts, weighted sums, cross counts, intercept sums over the cells a cluster keeps) is a
// sum over groups, and every cell of a group gets the same batch terms, so the correction works group by
// group with GEMMs (`groupOrder` lists the cells of group 0, then group 1, ...).

/// Covariates flattened into global levels and level-combination groups.
struct FitDesign: Sendable {
    /// Cells N.
    let cells: Int
    /// Covariates C.
    let covariateCount: Int
    /// Global level index per (cell, covariate), row-major N x C.
    let cellLevels: [Int32]
    /// First global level of each covariate, plus the total B at the end (C + 1 entries).
    let levelOffsets: [Int]
    /// Covariate of each global level.
    let levelCovariate: [Int]
    /// Cells per global level N_b.
    let levelCounts: [Int]
    /// p_b = N_b / N.
    let levelFractions: [Double]
    /// Global levels of each group, row-major G x C.
    let groupLevels: [Int]
    /// Cells per group.
    let groupCounts: [Int]
    /// Start of each group in `groupOrder` (G + 1 entries).
    let groupOffsets: [Int]
    /// Cell indices sorted by group (stable: increasing cell index inside a group).
    let groupOrder: [Int32]
    /// Group of each cell (N values).
    let cellGroups: [Int32]

    /// Total number of global levels B.
    var levelCount: Int { levelOffsets[covariateCount] }
    /// Number of groups G.
    var groupCount: Int { groupCounts.count }

    /// Flattens validated covariates (each with one code per cell).
    init(covariates: [Covariate], cells: Int) {
        self.cells = cells
        covariateCount = covariates.count
        var offsets = [0]
        var owner: [Int] = []
        for (c, cov) in covariates.enumerated() {
            offsets.append(offsets[c] + cov.levels.count)
            owner += [Int](repeating: c, count: cov.levels.count)
        }
        levelOffsets = offsets
        levelCovariate = owner
        let nc = covariates.count
        var levels = [Int32](repeating: 0, count: cells * nc)
        var counts = [Int](repeating: 0, count: offsets[nc])
        for (c, cov) in covariates.enumerated() {
            let base = Int32(offsets[c])
            for i in 0..<cells {
                let b = base + cov.codes[i]
                levels[i * nc + c] = b
                counts[Int(b)] += 1
            }
        }
        cellLevels = levels
        levelCounts = counts
        levelFractions = counts.map { Double($0) / Double(cells) }

        // Groups: distinct level tuples, numbered in order of first appearance.
        var groupIndex: [[Int32]: Int] = [:]
        var tuples: [Int] = []
        var cellGroup = [Int](repeating: 0, count: cells)
        var sizes: [Int] = []
        if nc == 1 {
            // One covariate: the groups are the levels themselves, in level order.
            for b in 0..<offsets[1] { tuples.append(b) }
            sizes = counts
            for i in 0..<cells { cellGroup[i] = Int(levels[i]) }
        } else {
            // Mixed-radix key of the local codes (level counts multiply to far less than Int.max in practice;
            // the radix product is checked and falls back to wider keys otherwise).
            var radix = 1
            var fits = true
            for cov in covariates {
                let (product, overflow) = radix.multipliedReportingOverflow(by: max(1, cov.levels.count))
                if overflow { fits = false; break }
                radix = product
            }
            var indexByKey: [Int: Int] = [:]
            for i in 0..<cells {
                let row = levels[(i * nc)..<((i + 1) * nc)]
                var g: Int
                if fits {
                    var key = 0
                    for c in 0..<nc { key = key * covariates[c].levels.count + Int(row[row.startIndex + c]) - offsets[c] }
                    if let found = indexByKey[key] { g = found } else { g = sizes.count; indexByKey[key] = g }
                } else {
                    let key = Array(row)
                    if let found = groupIndex[key] { g = found } else { g = sizes.count; groupIndex[key] = g }
                }
                if g == sizes.count {
                    tuples += row.map { Int($0) }
                    sizes.append(0)
                }
                sizes[g] += 1
                cellGroup[i] = g
            }
        }
        groupLevels = tuples
        groupCounts = sizes
        var starts = [0]
        for s in sizes { starts.append(starts.last! + s) }
        groupOffsets = starts
        var cursor = Array(starts.dropLast())
        var order = [Int32](repeating: 0, count: cells)
        for i in 0..<cells {
            let g = cellGroup[i]
            order[cursor[g]] = Int32(i)
            cursor[g] += 1
        }
        groupOrder = order
        cellGroups = cellGroup.map { Int32($0) }
    }
}
