// The blocks of one clustering round (Protocols/algorithm.md §2.3, step 2).
//
// The cells are cut into ceil(1 / blockSize) blocks of floor(N blockSize) cells (at least 1); the last block takes
// the rest, and no block is empty. Every assignment of cells to blocks with these sizes is equally likely, as if
// a uniform permutation were cut into consecutive runs, but the draw never touches all N cells in one place:
// 1. The cells are split into fixed segments of `segmentCells` consecutive cells. One stream (from a seed taken
//    from the clustering's generator) fills the table of how many cells of each segment go to each block:
//    segment by segment, the block sizes still open are split by multivariate hypergeometric draws (one
//    univariate draw per block). That is exactly the law of the counts under a uniform permutation.
// 2. Each segment deals its labels (its count of block 0, then of block 1, ...) to its cells by a Fisher-Yates
//    shuffle from its own stream, seeded by (round seed, segment).
// Every rank or thread count therefore gets the same blocks, and a rank shuffles only the segments that hold its
// cells: O(N / P + segmentCells) work per round, plus the table (segments x blocks draws).
// Inside a block all cells see the same O and E, so the order within a block does not matter: each block's cells
// are listed in increasing index order (a counting sort of the block ids), which makes the row accesses of the
// assignment pass far more cache friendly than a random order.
//
// The clustering keeps sums of R rows per (block, level) pair of a schedule. Only the pairs that occur are
// numbered (block by block, in order of first appearance), so that the sums grow with min(blocks x levels,
// cells x covariates), never with blocks x levels x K when there are thousands of levels; the numbering uses a
// blocks x levels table of Int32.
//
// Distributed (CellShard): `order` holds global cell indices of the shard's cells only, `blockOf` and
// `cellPairs` are indexed by the shard's local cell index, and the pairs are those of the shard's cells.

/// The blocks of one round: which cells, in which block, in increasing order inside a block.
struct BlockSchedule {
    /// Cells per segment of the draw; fixed, so that the blocks do not depend on ranks or threads.
    static let segmentCells = 1 << 16

    /// All cells of the fit.
    let cells: Int
    /// The cells listed (all N cells unless distributed).
    let shard: CellShard
    /// Cells per segment (`segmentCells` except in tests).
    let segment: Int
    /// Block boundaries in `order` (blocks + 1 entries).
    private(set) var bounds: [Int] = [0]
    /// Cells of block 0, then block 1, ...; increasing inside each block (global indices).
    private(set) var order: [Int32]
    /// Block of each cell of the shard (local index).
    private(set) var blockOf: [Int32]
    /// Scratch of `indexPairs`: each block's number for each level's pair (-1: none), blocks x levels.
    private var localPair: [Int32] = []
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
    init(cells: Int, shard: CellShard? = nil, segmentCells: Int = BlockSchedule.segmentCells) {
        self.cells = cells
        self.shard = shard ?? .whole(cells)
        segment = segmentCells
        order = [Int32](repeating: 0, count: self.shard.count)
        blockOf = [Int32](repeating: 0, count: self.shard.count)
    }

    /// Number of blocks and cells per block for N cells: (ceil(1 / blockSize), max(1, floor(N blockSize))).
    static func shape(cells: Int, blockSize: Double) -> (blocks: Int, perBlock: Int) {
        (Int((1 / blockSize - 1e-9).rounded(.up)), max(1, Int(Double(cells) * blockSize)))
    }

    /// The sizes of the blocks: `perBlock` cells each, the last one up to N, none empty.
    static func sizes(cells: Int, blockSize: Double) -> [Int] {
        let (blocks, perBlock) = shape(cells: cells, blockSize: blockSize)
        var sizes: [Int] = []
        var start = 0
        while start < cells && sizes.count < blocks {
            sizes.append(sizes.count == blocks - 1 ? cells - start : min(perBlock, cells - start))
            start += sizes.last!
        }
        return sizes
    }

    /// Draws new blocks from one value of `rng` (see the file header); the segments are shuffled in parallel on
    /// `runner` (each from its own stream, so the blocks do not depend on the thread count).
    mutating func draw(rng: inout SeededGenerator, blockSize: Double, runner: TaskRunner = TaskRunner(requested: 1)) {
        let sizes = BlockSchedule.sizes(cells: cells, blockSize: blockSize)
        let roundSeed = rng.next()
        let counts = segmentCounts(sizes: sizes, seed: roundSeed)
        let blocks = sizes.count, first = shard.first, end = shard.first + shard.count
        let firstSegment = first / segment, segments = (end + segment - 1) / segment - firstSegment
        let cells = self.cells, segment = self.segment
        blockOf.withUnsafeMutableBufferPointer { blockBuf in
            let blockOf = blockBuf.baseAddress!
            counts.withUnsafeBufferPointer { countBuf in
                runner.run(segments) { s in
                    let g = firstSegment + s
                    let start = g * segment, len = min(cells, start + segment) - start
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: len) { label in
                        var at = 0
                        for j in 0..<blocks {
                            for _ in 0..<countBuf[g * blocks + j] { label[at] = Int32(j); at += 1 }
                        }
                        var stream = SeededGenerator(seed: roundSeed, stream: UInt64(g) + 1)
                        var i = len - 1
                        while i > 0 {
                            label.swapAt(i, stream.below(i + 1))
                            i -= 1
                        }
                        for cell in max(start, first)..<min(start + len, end) {
                            blockOf[cell - first] = label[cell - start]
                        }
                    }
                }
            }
        }
        var shardSizes = [Int](repeating: 0, count: blocks)
        for local in 0..<shard.count { shardSizes[Int(blockOf[local])] += 1 }
        bounds = [0]
        for size in shardSizes { bounds.append(bounds.last! + size) }
        var cursor = Array(bounds.dropLast())
        for local in 0..<shard.count {
            let j = Int(blockOf[local])
            order[cursor[j]] = Int32(first + local)
            cursor[j] += 1
        }
    }

    /// Cells of segment g in block j at [g x blocks + j]: each segment splits the still open block sizes by a
    /// multivariate hypergeometric draw (stream 0 of `seed`).
    private func segmentCounts(sizes: [Int], seed: UInt64) -> [Int] {
        let blocks = sizes.count, segments = (cells + segment - 1) / segment
        var open = sizes, openTotal = cells
        var counts = [Int](repeating: 0, count: segments * blocks)
        var stream = SeededGenerator(seed: seed, stream: 0)
        for g in 0..<segments {
            var left = min(cells, (g + 1) * segment) - g * segment
            for j in 0..<blocks {
                // Block j's share of the segment's cells still to place, among the open cells of blocks j...
                let x = j == blocks - 1 ? left
                    : stream.hypergeometric(population: openTotal, marked: open[j], draws: left)
                counts[g * blocks + j] = x
                left -= x
                openTotal -= open[j]
                open[j] -= x
            }
            // The cells of blocks j... still open after this segment.
            openTotal = open.reduce(0, +)
        }
        return counts
    }
    /// Numbers the (block, level) pairs of the drawn blocks: block by block, in order of first appearance over
    /// the block's cells, for the levels `levels` (N x C global levels, `levelCount` in all).
    /// A block lists its cells in increasing order, so one pass over the shard's cells in index order (sequential
    /// reads, where the block order scattered them) meets each block's pairs in that order: it numbers them per
    /// block, and a second pass adds the block's first pair number.
    mutating func indexPairs(levels: [Int32], covariates nc: Int, levelCount: Int) {
        let first = shard.first, count = shard.count, blocks = blockCount
        if cellPairs.count != count * nc { cellPairs = [Int32](repeating: 0, count: count * nc) }
        if localPair.count != blocks * levelCount { localPair = [Int32](repeating: -1, count: blocks * levelCount) }
        var pairsIn = [Int32](repeating: 0, count: blocks)
        localPair.withUnsafeMutableBufferPointer { local in
            cellPairs.withUnsafeMutableBufferPointer { pairs in
                levels.withUnsafeBufferPointer { level in
                    blockOf.withUnsafeBufferPointer { block in
                        for x in 0..<count {
                            let j = Int(block[x])
                            for c in 0..<nc {
                                let slot = j * levelCount + Int(level[(first + x) * nc + c])
                                if local[slot] < 0 {
                                    local[slot] = pairsIn[j]
                                    pairsIn[j] += 1
                                }
                                pairs[x * nc + c] = local[slot]
                            }
                        }
                        pairStart = [0]
                        for j in 0..<blocks { pairStart.append(pairStart[j] + Int(pairsIn[j])) }
                        for x in 0..<count {
                            let offset = Int32(pairStart[Int(block[x])])
                            for c in 0..<nc { pairs[x * nc + c] += offset }
                        }
                    }
                }
            }
            pairLevel = [Int32](repeating: 0, count: pairStart[blocks])
            for j in 0..<blocks {
                for b in 0..<levelCount where local[j * levelCount + b] >= 0 {
                    pairLevel[pairStart[j] + Int(local[j * levelCount + b])] = Int32(b)
                    local[j * levelCount + b] = -1
                }
            }
        }
    }
}
