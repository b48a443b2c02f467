import XCTest
@testable import HarmonyCore

final class NearestNeighborIndexTests: XCTestCase {
    static func bruteForce(_ points: Matrix<Float>, _ queries: Matrix<Float>, k: Int) -> [Int32] {
        var out: [Int32] = []
        for q in 0..<queries.rows {
            var all: [(Double, Int32)] = []
            for p in 0..<points.rows {
                var ss = 0.0
                for j in 0..<points.cols {
                    let diff = Double(queries[q, j]) - Double(points[p, j])
                    ss += diff * diff
                }
                all.append((ss, Int32(p)))
            }
            all.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            out.append(contentsOf: all.prefix(k).map(\.1))
        }
        return out
    }

    /// The index returns exactly the brute-force neighbours, on clustered and on uniform data.
    func testEqualsBruteForce() {
        var rng = QueryStateTests.SplitMix(state: 5)
        for clustered in [false, true] {
            let n = 3000, d = 8
            var points = QueryStateTests.randomCells(n, d: d, rng: &rng)
            if clustered {
                for i in 0..<n { for j in 0..<d { points[i, j] = points[i, j] * 0.1 + Float((i % 7) * (j % 3)) } }
            }
            let queries = QueryStateTests.randomCells(300, d: d, rng: &rng)
            let index = NearestNeighborIndex(points: points, seed: 1)
            let (got, distances) = index.search(queries, k: 5)
            XCTAssertEqual(got, Self.bruteForce(points, queries, k: 5), "clustered \(clustered)")
            for i in 0..<300 { for j in 1..<5 { XCTAssertLessThanOrEqual(distances[i * 5 + j - 1], distances[i * 5 + j]) } }
        }
        // Fewer points than k.
        let tiny = Matrix<Float>(rows: 2, cols: 2, values: [0, 0, 1, 1])
        let (ids, _) = NearestNeighborIndex(points: tiny).search(Matrix(rows: 1, cols: 2, values: [0.9, 0.9]), k: 3)
        XCTAssertEqual(ids, [1, 0, -1])
    }

    /// Duplicated points: ties go to the smaller index.
    func testTiesBreakBySmallerIndex() {
        let points = Matrix<Float>(rows: 6, cols: 1, values: [1, 0, 1, 0, 1, 5])
        let (ids, _) = NearestNeighborIndex(points: points).search(Matrix(rows: 1, cols: 1, values: [0.9]), k: 4)
        XCTAssertEqual(ids, [0, 2, 4, 1])
    }

    /// PC-like data: 50 cluster centres plus noise, both with a standard deviation that decays over the
    /// dimensions as PCA embeddings do (1 / (1 + j / 3)).
    static func pcLike(_ n: Int, d: Int, rng: inout QueryStateTests.SplitMix) -> Matrix<Float> {
        var centres = QueryStateTests.SplitMix(state: 77)
        let c = (0..<(50 * d)).map { _ in Float.random(in: -4...4, using: &centres) }
        var m = QueryStateTests.randomCells(n, d: d, rng: &rng)
        for i in 0..<n {
            let g = Int(rng.next() % 50)
            for j in 0..<d { m[i, j] = (c[g * d + j] + 0.4 * m[i, j]) / (1 + Float(j) / 3) }
        }
        return m
    }

    /// On PC-like data (the kind the index is built for) the neighbours are exact. Speed is measured by
    /// `harmony bench --map-cells` (BENCHMARKS.md), not here.
    func testSearchIsExactOnPCLikeData() {
        var rng = QueryStateTests.SplitMix(state: 9)
        let points = Self.pcLike(50_000, d: 30, rng: &rng)
        let index = NearestNeighborIndex(points: points)
        let queries = Self.pcLike(200, d: 30, rng: &rng)
        let (ids, _) = index.search(queries, k: 5)
        XCTAssertFalse(ids.contains(-1))
        XCTAssertEqual(ids, Self.bruteForce(points, queries, k: 5))
    }

    /// A tight cluster far from the origin (n 20,000, d 10, offset 40, spread 0.05): |q|^2 = 16,000 next to
    /// squared distances of about 0.05, where raw-coordinate float distances are noise. The answers equal brute
    /// force in Double (the probe that found the k + 2 candidate rule inexact for 200 of 200 queries).
    func testTightClusterFarFromTheOriginIsExact() {
        var rng = QueryStateTests.SplitMix(state: 40)
        func cloud(_ n: Int) -> Matrix<Float> {
            var m = QueryStateTests.randomCells(n, d: 10, rng: &rng)
            for e in 0..<m.values.count { m.values[e] = 40 + 0.05 * m.values[e] / 3 }
            return m
        }
        let points = cloud(20_000)
        let queries = cloud(200)
        let index = NearestNeighborIndex(points: points)
        for k in [1, 5, 30] {
            let (ids, distances) = index.search(queries, k: k)
            XCTAssertEqual(ids, Self.bruteForce(points, queries, k: k), "k \(k)")
            for i in 0..<queries.rows {
                var ss = 0.0
                for j in 0..<10 {
                    let diff = Double(queries[i, j]) - Double(points[Int(ids[i * k]), j])
                    ss += diff * diff
                }
                XCTAssertEqual(Double(distances[i * k]), ss.squareRoot(), accuracy: 1e-6 * ss.squareRoot())
            }
        }
    }

    /// Many exact duplicates (more than the kept candidates) at the query's distance: the verification cannot
    /// certify the float ranking, and the exact fallback still orders ties by index.
    func testManyDuplicatesFallBackToAnExactScan() {
        var values: [Float] = []
        for i in 0..<400 { values += i % 2 == 0 ? [1, 1] : [Float(i), -Float(i)] }
        let points = Matrix<Float>(rows: 400, cols: 2, values: values)
        let queries = Matrix<Float>(rows: 2, cols: 2, values: [1, 1.0001, 3, -3])
        let (ids, _) = NearestNeighborIndex(points: points).search(queries, k: 20)
        XCTAssertEqual(ids, Self.bruteForce(points, queries, k: 20))
    }

    /// The dot-product kernel against Double sums, for row counts around its block of four and list sizes
    /// around its widths (eight; sixteen for four rows; sixty-four for a row alone), dimension-major points as the
    /// index stores them.
    func testDotProductKernelMatchesDoubleSums() {
        var rng = QueryStateTests.SplitMix(state: 11)
        for (rows, size, d) in [(1, 1, 3), (3, 7, 30), (4, 8, 30), (5, 17, 8), (9, 40, 1), (4, 15, 30), (4, 16, 30),
                                (8, 33, 20), (1, 63, 30), (1, 64, 30), (2, 137, 30), (7, 200, 5)] {
            let block = QueryStateTests.randomCells(rows, d: d, rng: &rng).values
            let points = QueryStateTests.randomCells(d, d: size, rng: &rng).values
            var out = [Float](repeating: .nan, count: rows * size)
            block.withUnsafeBufferPointer { b in
                points.withUnsafeBufferPointer { p in
                    out.withUnsafeMutableBufferPointer { o in
                        ListSearcher.dotProducts(b.baseAddress!, rows: rows, dims: d, points: p.baseAddress!, size: size,
                                                 into: o.baseAddress!)
                    }
                }
            }
            for r in 0..<rows {
                for q in 0..<size {
                    var sum = 0.0, scale = 0.0
                    for j in 0..<d {
                        let term = Double(block[r * d + j]) * Double(points[j * size + q])
                        sum += term
                        scale += abs(term)
                    }
                    // d float roundings at most, each 2^-24 of the running sum of |terms|.
                    XCTAssertEqual(Double(out[r * size + q]), sum, accuracy: 1e-5 * scale + 1e-6,
                                   "rows \(rows) size \(size) d \(d)")
                }
            }
        }
    }

    /// The kernels (four queries against sixteen points at a time, a query alone against sixty-four, then a list's
    /// last points) give brute force's answers whatever the number of queries searched together (1 to 9: every
    /// count of leftover rows) and with lists of uneven sizes (every tail length is met).
    func testScanKernelsEqualBruteForceForEveryGroupSize() {
        var rng = QueryStateTests.SplitMix(state: 11)
        let n = 2500, d = 30
        let points = QueryStateTests.randomCells(n, d: d, rng: &rng)
        let index = NearestNeighborIndex(points: points, seed: 3)
        let sizes = (0..<index.listCount).map { index.listStart[$0 + 1] - index.listStart[$0] }
        XCTAssertGreaterThan(Set(sizes.map { $0 % 16 }).count, 4, "list sizes \(sizes)")
        XCTAssertTrue(sizes.contains { $0 > 64 && $0 % 64 != 0 }, "list sizes \(sizes)")
        let queries = QueryStateTests.randomCells(45, d: d, rng: &rng)
        let expected = Self.bruteForce(points, queries, k: 7)
        for group in 1...9 {
            var got: [Int32] = []
            for start in stride(from: 0, to: queries.rows, by: group) {
                got += index.search(queries.selectingRows(start..<min(queries.rows, start + group)), k: 7).indices
            }
            XCTAssertEqual(got, expected, "groups of \(group)")
        }
    }

    /// A daemon searches a few queries at a time: one-query and three-query searches equal brute force too,
    /// on clustered data in 30 dimensions (the server benchmark's shape).
    func testSmallQueryGroupsEqualBruteForce() {
        var rng = QueryStateTests.SplitMix(state: 9)
        let n = 4000, d = 30
        var points = QueryStateTests.randomCells(n, d: d, rng: &rng)
        for i in 0..<n { for j in 0..<d { points[i, j] = points[i, j] * 0.3 + Float((i % 5) * ((j + i) % 4)) } }
        let index = NearestNeighborIndex(points: points, seed: 2)
        let queries = QueryStateTests.randomCells(60, d: d, rng: &rng)
        let expected = Self.bruteForce(points, queries, k: 5)
        for group in [1, 3] {
            var got: [Int32] = []
            for start in stride(from: 0, to: queries.rows, by: group) {
                got += index.search(queries.selectingRows(start..<min(queries.rows, start + group)), k: 5).indices
            }
            XCTAssertEqual(got, expected, "groups of \(group)")
        }
    }
}
