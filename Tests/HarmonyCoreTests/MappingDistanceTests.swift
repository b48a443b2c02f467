import Foundation
import XCTest
@testable import HarmonyCore

final class MappingDistanceTests: XCTestCase {
    /// numpy's version of Symphony's metric, written from the formula (R's cov.wt, unbiased, and
    /// mahalanobis): reads the inputs as raw little-endian arrays and writes centres, covariances and distances.
    static let numpyScript = """
        import sys
        import numpy as np
        d, k, n, m = (int(v) for v in sys.argv[2:6])
        folder = sys.argv[1]
        x = np.fromfile(folder + "/x.f32", dtype="<f4").reshape(n, d).astype(np.float64)
        r = np.fromfile(folder + "/r.f32", dtype="<f4").reshape(n, k).astype(np.float64)
        z = np.fromfile(folder + "/z.f32", dtype="<f4").reshape(m, d).astype(np.float64)
        rq = np.fromfile(folder + "/rq.f32", dtype="<f4").reshape(m, k).astype(np.float64)
        centres = np.zeros((k, d)); covs = np.zeros((k, d, d)); dist = np.zeros(m)
        for c in range(k):
            w = r[:, c] / r[:, c].sum()
            mu = w @ x
            centred = x - mu
            cov = (centred * w[:, None]).T @ centred / (1.0 - np.sum(w * w))
            centres[c] = mu; covs[c] = cov
            diff = z - mu
            maha2 = np.einsum("ij,ij->i", diff, np.linalg.solve(cov, diff.T).T)
            dist += rq[:, c] * np.sqrt(maha2)
        np.concatenate([centres.ravel(), covs.ravel(), dist]).astype("<f8").tofile(folder + "/expected.f64")
        """

    /// Runs the numpy script on the arrays; fails the test if python3 or numpy is missing.
    static func numpyReference(x: Matrix<Float>, r: Matrix<Float>, z: Matrix<Float>, rq: Matrix<Float>) throws -> [Double] {
        let folder = NSTemporaryDirectory() + "mapping-distance-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (name, m) in [("x", x), ("r", r), ("z", z), ("rq", rq)] {
            try m.values.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: "\(folder)/\(name).f32"))
        }
        try numpyScript.write(toFile: folder + "/reference.py", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", folder + "/reference.py", folder, "\(x.cols)", "\(r.cols)", "\(x.rows)", "\(z.rows)"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "python3 with numpy is needed (Samples/setup.sh installs it)")
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/expected.f64"))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    /// Reference cells in K blobs of different shapes, one tight and far from the origin, with peaked soft
    /// assignments; query cells near and far from the blobs.
    static func data(n: Int, m: Int, d: Int, k: Int) -> (x: Matrix<Float>, r: Matrix<Float>, z: Matrix<Float>, rq: Matrix<Float>) {
        var rng = QueryStateTests.SplitMix(state: 2024)
        func normal() -> Float {
            let u = Float.random(in: 1e-7...1, using: &rng), v = Float.random(in: 0...1, using: &rng)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        func assignments(_ rows: Int, home: (Int) -> Int) -> Matrix<Float> {
            var r = Matrix<Float>(rows: rows, cols: k)
            for i in 0..<rows {
                var sum: Float = 0
                for c in 0..<k {
                    let v = (c == home(i) ? 20 : 1) * Float.random(in: 0.01...1, using: &rng)
                    r[i, c] = v
                    sum += v
                }
                for c in 0..<k { r[i, c] /= sum }
            }
            return r
        }
        var x = Matrix<Float>(rows: n, cols: d)
        for i in 0..<n {
            let c = i % k
            // Cluster c: centre c * 3 on axis c % d, anisotropic spread; the last cluster is tight and far.
            let far = c == k - 1
            for j in 0..<d {
                let centre: Float = far ? 40 : (j == c % d ? Float(c) * 3 : 0)
                let spread: Float = far ? 0.05 : 0.5 + Float((j + c) % 3)
                x[i, j] = centre + spread * normal() + (j > 0 ? 0.3 * x[i, j - 1] : 0)
            }
        }
        var z = Matrix<Float>(rows: m, cols: d)
        for i in 0..<m {
            let source = (i * 37) % n
            for j in 0..<d { z[i, j] = x[source, j] + Float(i % 4) * normal() }
        }
        return (x, assignments(n) { $0 % k }, z, assignments(m) { ($0 * 37) % k })
    }

    /// Centres, covariances and distances equal numpy's, the distances to 1e-5 relative.
    func testAgreesWithNumpy() throws {
        let d = 6, k = 5
        let (x, r, z, rq) = Self.data(n: 3000, m: 400, d: d, k: k)
        let expected = try Self.numpyReference(x: x, r: r, z: z, rq: rq)
        XCTAssertEqual(expected.count, k * d + k * d * d + z.rows)
        let spread = try ClusterSpread.compute(embedding: x, assignments: r)
        for (i, v) in spread.centres.values.enumerated() {
            XCTAssertEqual(v, expected[i], accuracy: 1e-9 * max(1, abs(expected[i])), "centre value \(i)")
        }
        for (i, v) in spread.covariances.enumerated() {
            let e = expected[k * d + i]
            XCTAssertEqual(v, e, accuracy: 1e-8 * max(1e-3, abs(e)), "covariance value \(i)")
        }
        let distance = MappingDistance(spread: spread)
        XCTAssertEqual(distance.ridges, [Double](repeating: 0, count: k))
        let got = distance.distances(cells: z, assignments: rq)
        var worst = 0.0
        for i in 0..<z.rows {
            let e = expected[k * d + k * d * d + i]
            worst = max(worst, abs(got[i] - e) / abs(e))
        }
        XCTAssertLessThan(worst, 1e-5, "largest relative difference from numpy")
        print("mapping distance vs numpy: largest relative difference \(worst)")
        // Requests of one and three cells (a daemon's; they take the DGEMV path) give the same distances.
        for (start, count) in [(0, 1), (37, 1), (398, 1), (100, 3), (250, 7)] {
            let rows = start..<(start + count)
            let part = distance.distances(cells: z.selectingRows(rows), assignments: rq.selectingRows(rows))
            for (j, i) in rows.enumerated() {
                XCTAssertEqual(part[j], got[i], accuracy: 1e-10 * got[i], "cell \(i) in a request of \(count)")
            }
        }
    }

    /// A cluster whose cells lie on a line (rank-1 covariance) gets a ridge and finite distances; the
    /// distance grows off the line.
    func testSingularCovarianceGetsARidge() throws {
        let n = 200, d = 3
        var x = Matrix<Float>(rows: n, cols: d)
        for i in 0..<n { x[i, 0] = Float(i) / 20; x[i, 1] = 2 * Float(i) / 20; x[i, 2] = 1 }
        let r = Matrix<Float>(rows: n, cols: 1, repeating: 1)
        let distance = MappingDistance(spread: try ClusterSpread.compute(embedding: x, assignments: r))
        XCTAssertGreaterThan(distance.ridges[0], 0)
        let q = Matrix<Float>(rows: 2, cols: d, values: [5, 10, 1, 5, 10, 1.5])
        let got = distance.distances(cells: q, assignments: Matrix(rows: 2, cols: 1, repeating: 1))
        XCTAssertTrue(got.allSatisfy { $0.isFinite })
        XCTAssertLessThan(got[0], 1)
        XCTAssertGreaterThan(got[1], 100 * got[0])
    }

    /// A built reference keeps the spread of its ORIGINAL embedding, and mapping reports the distance of the
    /// uncorrected query cells; the spread survives a compact model.
    func testReferenceBuildKeepsTheSpreadAndMappingReportsDistances() throws {
        let d = 4, k = 3
        let (x, _, z, _) = Self.data(n: 600, m: 50, d: d, k: k)
        let batch = Covariate(name: "batch", labels: (0..<600).map { "b\($0 % 2)" })
        var parameters = HarmonyParameters()
        parameters.nClusters = k
        let fit = try Harmony.fit(x, covariates: [batch], parameters: parameters)
        let model = try ReferenceModel.build(fit: fit, embedding: x, covariates: [batch], parameters: parameters,
                                             cellIds: (0..<600).map { "c\($0)" }, labels: nil, compact: true)
        let expected = try ClusterSpread.compute(embedding: x, assignments: fit.assignments)
        XCTAssertEqual(model.clusterSpread, expected)
        let mapped = try QueryState.mapJointly(model: model, cells: z, batches: [String](repeating: "q", count: z.rows),
                                               batchKey: "batch",
                                               options: QueryMappingOptions(includeAssignments: true, includeMappingDistance: true))
        let direct = MappingDistance(spread: expected).distances(cells: z, assignments: mapped.assignments!)
        XCTAssertEqual(mapped.mappingDistance, direct)
    }
}
