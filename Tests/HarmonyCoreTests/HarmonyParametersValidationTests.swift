import XCTest
@testable import HarmonyCore

/// Invalid parameters and inputs raise the matching `HarmonyError`.
final class HarmonyParametersValidationTests: XCTestCase {
    private let data = Simulator.generate(SimulationSpec(cells: 300, dims: 4, batches: 2, types: 2, seed: 1))

    private func expect(_ kind: String, parameters: HarmonyParameters = HarmonyParameters(),
                        embedding: Matrix<Float>? = nil, covariates: [Covariate]? = nil,
                        file: StaticString = #filePath, line: UInt = #line) {
        let cov = covariates ?? [Covariate(name: "batch", labels: data.batch)]
        XCTAssertThrowsError(try Harmony.fit(embedding ?? data.embedding, covariates: cov, parameters: parameters),
                             file: file, line: line) { error in
            switch (kind, error) {
            case ("parameter", HarmonyError.invalidParameter), ("input", HarmonyError.invalidInput): break
            default: XCTFail("expected an invalid \(kind) error, got \(error)", file: file, line: line)
            }
        }
    }

    func testInvalidInputs() {
        var nan = data.embedding
        nan[3, 1] = .nan
        expect("input", embedding: nan)
        expect("input", embedding: Matrix(rows: 5, cols: 2, repeating: 1),
               covariates: [Covariate(name: "b", labels: ["a", "b", "a", "b", "a"])])
        expect("input", covariates: [Covariate(name: "batch", labels: Array(data.batch.prefix(10)))])
        expect("input", covariates: [Covariate(name: "one", labels: [String](repeating: "x", count: 300))])
        let cov = Covariate(name: "batch", labels: data.batch)
        expect("input", covariates: [cov, cov])
        expect("input", covariates: [])
    }

    func testInvalidParameters() {
        var p = HarmonyParameters()
        p.nClusters = 301
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.theta = [1, 2, 3]
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.sigma = [0.1, 0.2]
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.sigma = [0]
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.lambda = .fixed([0])
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.lambda = .fixed([1, 1])
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.lambda = .dynamic(alpha: -1)
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.blockSize = 0
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.maxIterations = -1
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.tau = -1
        expect("parameter", parameters: p)
        p = HarmonyParameters(); p.threads = -2
        expect("parameter", parameters: p)
    }

    func testResolvedDefaults() {
        let p = HarmonyParameters()
        XCTAssertEqual(p.resolvedClusterCount(cellCount: 75), 2)   // 2.5 rounds half to even
        XCTAssertEqual(p.resolvedClusterCount(cellCount: 10), 1)   // clamped to at least 1
        XCTAssertEqual(p.resolvedClusterCount(cellCount: 1_000_000), 100)
        XCTAssertEqual(p.resolvedBlockSize(cellCount: 39), 0.2)
        XCTAssertEqual(p.resolvedBlockSize(cellCount: 40), 0.05)
    }
}
