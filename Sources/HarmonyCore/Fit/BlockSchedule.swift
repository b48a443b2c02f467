// The blocks of one clustering round (Protocols/algorithm.md §2.3, step 2).
//
// A fresh uniform permutation pi of the cells is cut into ceil(1 / blockSize) blocks of floor(N blockSize)
// positions (at least 1); the last block runs to N, and no block starts at or beyond N. Inside a block all
// cells see the same O and E, so the order within a block does not matter: each block's cells are listed in
// increasing index order (a counting sort of the block ids, O(N)), which makes the row accesses of the
// assignment pass far more cache friendly than the permutation order.
//
// The clustering keeps sums of R rows per (block, level) pair of a schedule. Only the pairs that occur are
// numbered (block by block, in order of first appearance), so that state grows with min(blocks x levels,
// cells x covariates), never with blocks x levels when there are thousands of levels.
//
// Distributed (CellShard): every rank draws the same permutation of all N cells (the same random stream) but
// lists only its own cells in the blocks; `order` holds global cell indices, `blockOf` and `cellPairs` are
// indexed by the shard's local cell index, and the pairs are those of the shard's cells.

/// The blocks of one round: which cells, in which block, in increasing order inside a block.
struct BlockSchedule {
    /// The cells listed (all N cells unless distributed).
    let shard: CellShard
    /// Block boundaries in `order` (blocks + 1 entries).
    private(set) var bounds: [Int] = [0]
    /// Cells of block 0, then block 1, ...; increasing inside each block (global indices).
    private(set) var order: [Int32]
    /// Block of each cell of the shard (local index).
    private(set) var blockOf: [Int32]
    /// Scratch for the permutation (of all N cells).
    private var permutation: [Int32]
    /// Pair of each (cell, covariate) of the shard, local index x C (see `indexPairs`).
    private(set) var cellPairs: [Int32] = []
    /// Global level of each pair.
    private(set) var pairLevel: [Int32] = []
    /// Pairs of block j are pairStart[j] ..< pairStart[j + 1].
    private(set) var pairStart: [Int] = [0]

    /// Number of (block, level) pairs.
    var pairCount: Int { pairLevel.count }

    /// Number of blocks.
    var blockCount: Int { bounds.count - 1 }

    /// An empty schedule for `cells` cells, listing those of `shard` (call `draw` before use).
    init(cells: Int, shard: CellShard? = nil) {
        self.shard = shard ?? .whole(cells)
        order = [Int32](repeating: 0, count: self.shard.count)
        blockOf = [Int32](repeating: 0, count: self.shard.count)
        permutation = [Int32](repeating: 0, count: cells)
    }

    /// Number of blocks and cells per block for N cells: (ceil(1 / blockSize), max(1, floor(N blockSize))).
    static func shape(cells: Int, blockSize: Double) -> (blocks: Int, perBlock: Int) {
        (Int((1 / blockSize - 1e-9).rounded(.up)), max(1, Int(Double(cells) * blockSize)))
    }

    /// Draws a new permutation from `rng` and rebuilds the blocks.
    mutating func draw(rng: inout SeededGenerator, blockSize: Double) {
        let cells = permutation.count
        let (blocks, perBlock) = BlockSchedule.shape(cells: cells, blockSize: blockSize)
        // Positions of the permutation that start each block.
        var starts = [0]
        for j in 0..<blocks {
            let start = j * perBlock
            if start >= cells { break }
            starts.append(j == blocks - 1 ? cells : min(cells, start + perBlock))
        }
        starts[starts.count - 1] = cells
        permutation.withUnsafeMutableBufferPointer { rng.permutation(into: $0) }
        let first = shard.first, range = shard.range
        var sizes = [Int](repeating: 0, count: starts.count - 1)
        for j in 0..<(starts.count - 1) {
            for p in starts[j]..<starts[j + 1] {
                let i = Int(permutation[p])
                guard range.contains(i) else { continue }
                blockOf[i - first] = Int32(j)
                sizes[j] += 1
            }
        }
        bounds = [0]
        for size in sizes { bounds.append(bounds.last! + size) }
        var cursor = Array(bounds.dropLast())
        for local in 0..<shard.count {
            let j = Int(blockOf[local])
            order[cursor[j]] = Int32(first + local)
            cursor[j] += 1
        }
    }

    /// Numbers the (block, level) pairs of the drawn blocks: block by block, in order of first appearance over
    /// the block's cells, for the levels `levels` (N x C global levels, `levelCount` in all).
    mutating func indexPairs(levels: [Int32], covariates nc: Int, levelCount: Int) {
        var slot = [Int32](repeating: -1, count: levelCount)
        let first = shard.first
        if cellPairs.count != shard.count * nc { cellPairs = [Int32](repeating: 0, count: shard.count * nc) }
        pairLevel.removeAll(keepingCapacity: true)
        pairStart = [0]
        for j in 0..<blockCount {
            for p in bounds[j]..<bounds[j + 1] {
                let i = Int(order[p])
                for c in 0..<nc {
                    let b = Int(levels[i * nc + c])
                    if slot[b] < 0 {
                        slot[b] = Int32(pairLevel.count)
                        pairLevel.append(Int32(b))
                    }
                    cellPairs[(i - first) * nc + c] = slot[b]
                }
            }
            for pair in pairStart[j]..<pairLevel.count { slot[Int(pairLevel[pair])] = -1 }
            pairStart.append(pairLevel.count)
        }
    }
}
