// Exact k-nearest-neighbour search (Euclidean) with an inverted-file (IVF) index.
//
// Build: k-means (Lloyd, a few rounds on a sample) splits the points into ~0.3 sqrt(N) lists (fewer, larger
// lists give larger query groups, so better-shaped GEMM blocks; best measured at 1M x 100k, d 30); each list
// stores its points contiguously with their squared norms and its radius r_l = max |p - c_l|.
// Search: queries are grouped by nearest list centroid. For each group, lists are visited in order of distance
// from the group's centroid; a query scans list l only if the larger of the triangle-inequality bound
//   (|q - c_l| - r_l)^2 and the bisector bound ((|q - c_l|^2 - |q - c_g|^2) / (2 |c_l - c_g|))^2
// (points are assigned to their nearest centre, so they lie on c_l's side; slacks cover float rounding)
// is <= the current candidate threshold (with slack), so no true neighbour is ever skipped.
// Distances of a block of queries to a list come from its dot products with the list's points in coordinates
// centred on the list's centroid, |q - c|^2 + |p - c|^2 - 2 (q - c).(p - c), computed by a kernel of our own over
// points stored dimension-major within each list (eight points of one coordinate are contiguous). A daemon searches
// a few queries per list at a time (a 1000-cell request spreads over every list), and SGEMM then spent more time
// packing the list's points than multiplying: the kernel reads them in place. Centring keeps the terms as small as the list, so a tight cluster
// far from the origin loses no precision to cancellation (with raw coordinates, |q|^2 = 16,000 drowned
// distances of 0.05). The best k + `extraCandidates` by that formula are re-ranked with exact Double distances
// on the original points. Exactness is then verified: the float formula errs by at most
// `floatErrorFactor` (|q - c| + r)^2 over the lists scanned, so if the last kept candidate's float distance,
// less that bound, still exceeds the k-th exact distance, no point left out can be nearer; otherwise (near
// ties, many duplicates) the query falls back to an exact Double scan of every point. Ties: smaller index first.

/// An exact Euclidean k-nearest-neighbour index over a fixed point set (N x d).
public struct NearestNeighborIndex: Sendable {
    /// Number of indexed points.
    public let count: Int
    /// Dimension.
    public let dimension: Int
    /// Number of inverted lists.
    public let listCount: Int
    // Points reordered list by list, each minus its list's centroid, their squared norms, and their original
    // indices. Within list l (slots lo ..< hi, size n_l = hi - lo) the points are stored dimension-major:
    // coordinate j of the list's p-th point is at lo * d + j * n_l + p.
    let points: [Float]
    let norms: [Float]
    // The points as given (N x d, the caller's storage, not a copy), for the exact Double re-ranking.
    let original: [Float]
    let originalIndex: [Int32]
    // Inverse of `originalIndex`: the reordered slot of each original point.
    let slots: [Int32]
    // List l holds reordered points listStart[l] ..< listStart[l + 1].
    let listStart: [Int]
    let centroids: [Float]
    let centroidNorms: [Float]
    let radius: [Float]
    // Largest squared norm of a point (not centred) in each list.
    let listMaxNorm: [Float]

    /// Candidates kept beyond k for the exact re-ranking (the float distances only have to order the points
    /// up to their rounding error; the verification catches the rest).
    // Fewer kept candidates mean a smaller sorted list to insert into and a tighter threshold sooner (fewer points
    // offered, more lists pruned): 4 instead of 8 took the label vote's search from 44 to 38 and from 17 to 15 us a
    // cell (`harmony bench --map-cells`, 4 and 10 cell types). The price is the exact fallback scan when the
    // (k + 4)-th candidate is within rounding of the k-th: five points or more tied (or nearly) at the k-th
    // distance, against nine before. It never ran on the simulated and real (cell_lines, pbmcs_symphony)
    // references measured.
    static let extraCandidates = 4
    /// Bound on the relative error of the centred float distance formula, in units of (|q - c| + r)^2: about
    /// (d + 4) roundings of 2^-24 each in the dot product, norms and centring; `search` adds d.
    static let floatErrorUnit: Double = 4 * 6e-8

    /// Builds the index on every core, their workers from `threadPolicy`; `seed` fixes the k-means start, so the
    /// index (not the answers, which are exact) is reproducible.
    public init(points input: Matrix<Float>, seed: UInt64 = 0, threadPolicy: ThreadPolicy = .sharedPool) {
        let n = input.rows, d = input.cols
        count = n
        dimension = d
        let lists = max(1, min(n, Int((0.3 * Double(n).squareRoot()).rounded())))
        listCount = lists
        let runner = TaskRunner(requested: 0, policy: threadPolicy)
        let centers = KMeansLists.centroids(input, lists: lists, seed: seed, runner: runner)
        let assignment = KMeansLists.nearest(input.values, n: n, d: d, centroids: centers, k: lists, runner: runner)
        var start = [Int](repeating: 0, count: lists + 1)
        for a in assignment { start[Int(a) + 1] += 1 }
        for l in 0..<lists { start[l + 1] += start[l] }
        var fill = start
        var order = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let l = Int(assignment[i])
            order[fill[l]] = Int32(i)
            fill[l] += 1
        }
        var reordered = [Float](repeating: 0, count: n * d)
        var pointNorms = [Float](repeating: 0, count: n)
        var radii = [Float](repeating: 0, count: lists)
        var maxNorms = [Float](repeating: 0, count: lists)
        // Centroids stay the assignment centres (not the members' means), so every point lies (up to float
        // rounding of the assignment, covered by a slack) on its own side of each bisector between two centres;
        // the search prunes with that hyperplane bound as well as with the radius.
        for l in 0..<lists {
            let size = start[l + 1] - start[l]
            for slot in start[l]..<start[l + 1] {
                let i = Int(order[slot])
                let base = start[l] * d + (slot - start[l])
                var ss = 0.0, dd = 0.0
                var cs = 0.0
                for j in 0..<d {
                    let v = input.values[i * d + j]
                    ss += Double(v) * Double(v)
                    let diff = Double(v) - Double(centers[l * d + j])
                    let centred = Float(diff)
                    reordered[base + j * size] = centred
                    cs += Double(centred) * Double(centred)
                    dd += diff * diff
                }
                pointNorms[slot] = Float(cs)
                maxNorms[l] = max(maxNorms[l], Float(ss))
                radii[l] = max(radii[l], Float(dd.squareRoot()) * (1 + 1e-5))
            }
        }
        points = reordered
        original = input.values
        listMaxNorm = maxNorms
        norms = pointNorms
        originalIndex = order
        var inverse = [Int32](repeating: 0, count: n)
        for (slot, i) in order.enumerated() { inverse[Int(i)] = Int32(slot) }
        slots = inverse
        listStart = start
        centroids = centers
        centroidNorms = (0..<lists).map { l in (0..<d).reduce(Float(0)) { $0 + centers[l * d + $1] * centers[l * d + $1] } }
        radius = radii
    }

    /// Queries searched together at most (bounds the query x list scratch).
    static let groupLimit = 512

    /// The reordered slot of original point `id`.
    func slot(of id: Int32) -> Int { Int(slots[Int(id)]) }

    /// The k nearest points of each query (n x d): indices into the indexed points and Euclidean distances,
    /// n x k row-major, nearest first (fewer than k only when the index holds fewer points; the rest is -1).
    /// `threads` = 0 uses every core, their workers from `threadPolicy`; the answer depends on neither (each query
    /// is searched independently).
    public func search(_ queries: Matrix<Float>, k: Int, threads: Int = 0,
                       threadPolicy: ThreadPolicy = .sharedPool) -> (indices: [Int32], distances: [Float]) {
        precondition(queries.cols == dimension, "query dimension \(queries.cols), index dimension \(dimension)")
        let n = queries.rows, d = dimension
        let kk = min(k, count)
        var indices = [Int32](repeating: -1, count: n * k)
        var distances = [Float](repeating: .infinity, count: n * k)
        guard n > 0, kk > 0 else { return (indices, distances) }
        let runner = TaskRunner(requested: threads, policy: threadPolicy)
        let primary = KMeansLists.nearest(queries.values, n: n, d: d, centroids: centroids, k: listCount, runner: runner)
        var groups = [[Int]](repeating: [], count: listCount)
        for i in 0..<n { groups[Int(primary[i])].append(i) }
        // Tasks: groups cut into pieces of at most `groupLimit` queries (bounds the query x list scratch).
        var tasks: [(group: Int, members: ArraySlice<Int>)] = []
        for (g, all) in groups.enumerated() {
            for start in stride(from: 0, to: all.count, by: Self.groupLimit) {
                tasks.append((g, all[start..<min(all.count, start + Self.groupLimit)]))
            }
        }
        indices.withUnsafeMutableBufferPointer { ib in
            distances.withUnsafeMutableBufferPointer { db in
                // Tasks write disjoint rows of the outputs.
                runner.run(tasks.count) { t in
                    var searcher = ListSearcher(index: self, k: kk)
                    let members = Array(tasks[t].members)
                    let results = searcher.search(queries: queries.values, rows: members, group: tasks[t].group)
                    for (row, i) in members.enumerated() {
                        for j in 0..<kk {
                            ib[i * k + j] = results.indices[row * kk + j]
                            db[i * k + j] = results.distances[row * kk + j]
                        }
                    }
                }
            }
        }
        return (indices, distances)
    }
}
