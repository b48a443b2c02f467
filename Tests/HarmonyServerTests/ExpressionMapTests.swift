import Foundation
import HarmonyBenchmark
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import Synchronization
import XCTest
@testable import HarmonyServer

/// MAP_EXPRESSION end to end on a server in this process: the same numbers as offline projection and mapping,
/// exactly-once across a restart, FORGET, transient requests, typed refusals that leave nothing behind, and
/// older peers that keep their layouts.
final class ExpressionMapTests: XCTestCase {
    private static let cached = Mutex<SimulatedExpressionReference?>(nil)

    /// A small gene-space reference (1,200 simulated cells, 150 of 300 genes, 10 PCs, K 8) with its query.
    private func reference() throws -> SimulatedExpressionReference {
        if let cached = Self.cached.withLock({ $0 }) { return cached }
        let made = try SimulatedExpressionReference(cells: 1200, simulatedGenes: 300, genes: 150, components: 10,
                                                    clusters: 8, meanUMIs: 2000, seed: 11, threads: 1)
        Self.cached.withLock { $0 = made }
        return made
    }

    // Query cells `rows` as a MAP_EXPRESSION with ids q<row>.
    private func request(_ data: SimulatedExpressionReference, _ rows: Range<Int>, batch: String,
                         present: [Bool]? = nil) -> ExpressionMapRequest {
        let q = data.query
        var starts: [UInt32] = [0], columns: [UInt32] = [], values: [Float] = []
        for i in rows {
            for e in q.rowStarts[i]..<q.rowStarts[i + 1] where present?[Int(q.columns[e])] ?? true {
                columns.append(UInt32(q.columns[e]))
                values.append(q.values[e])
            }
            starts.append(UInt32(columns.count))
        }
        return ExpressionMapRequest(batch: batch, geneCount: q.columnCount, valueKind: .counts, present: present,
                                    totals: Array(data.queryTotals[rows]), rowStarts: starts, columns: columns,
                                    values: values, cellIDs: rows.map { "q\($0)" })
    }

    private func assertClose(_ actual: [Float], _ expected: [Float], _ tolerance: Float = 1e-6,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        let scale = max(expected.map { abs($0) }.max() ?? 1, 1e-12)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst / scale, tolerance, "max |diff| \(worst) at scale \(scale)", file: file, line: line)
    }

    func testExpressionMapIsTheMapOfTheOfflineProjection() throws {
        let data = try reference()
        let server = try RunningServer(model: data.model)
        let client = try server.client()
        XCTAssertEqual(try client.hello().version, 3)
        let info = try client.info()
        let space = try XCTUnwrap(data.model.geneSpace)
        XCTAssertEqual(info.geneSpace?.genes.map(\.id), space.genes.map(\.id))
        XCTAssertEqual(info.geneSpace?.normalization, .logCounts(targetSum: 10_000))
        XCTAssertTrue(info.hasMappingDistance)
        // Some genes absent: they stand at the reference mean, offline as over the socket.
        var present = [Bool](repeating: true, count: space.geneCount)
        for g in stride(from: 0, to: space.geneCount, by: 7) { present[g] = false }
        let rows = 0..<300
        let sent = request(data, rows, batch: "e", present: present)
        let reply = try client.mapExpression(sent)
        // Offline: the same rows projected by the gene space, mapped jointly (one request = the whole batch).
        let block = SimulatedExpressionReference.rows(data.query, Array(rows))
        let kept = SparseRows(unchecked: block.columnCount, rowStarts: sent.rowStarts.map { Int($0) },
                              columns: sent.columns.map { Int32($0) }, values: sent.values)
        let projected = try space.project(kept, totals: Array(data.queryTotals[rows]), present: present)
        let offline = try QueryState.mapJointly(model: data.model, cells: projected,
                                                batches: [String](repeating: "e", count: rows.count), batchKey: "batch",
                                                options: QueryMappingOptions(lambda: 1, includeMappingDistance: true))
        assertClose(reply.corrected, offline.corrected.values)
        assertClose(try XCTUnwrap(reply.mappingDistance), try XCTUnwrap(offline.mappingDistance).map { Float($0) })
        XCTAssertEqual(reply.topCluster, offline.topCluster.map { UInt32($0) })
        // A MAP of the projected PCs into another batch answers the same.
        let map = try client.map(batch: "m", ids: rows.map { "q\($0)" }, cells: projected)
        assertClose(map.corrected, reply.corrected)
        XCTAssertEqual(map.predictedLabel, reply.predictedLabel)
        assertClose(try XCTUnwrap(map.mappingDistance), try XCTUnwrap(reply.mappingDistance))
        XCTAssertTrue(server.stop())
    }

    func testExpressionCellsAreKeptOnceAcrossARestartAndCanBeForgotten() throws {
        let data = try reference()
        let directory = try TemporaryDirectory()
        let first: MapReply
        do {
            let server = try RunningServer(model: data.model, directory: directory)
            let client = try server.client()
            first = try client.mapExpression(request(data, 0..<100, batch: "e"))
            _ = try client.mapExpression(request(data, 100..<200, batch: "e"))
            // A transient request changes nothing.
            _ = try client.mapExpression(request(data, 200..<250, batch: "e"), transient: true)
            XCTAssertEqual(try client.stats().batches, [BatchCount(batch: "e", cells: 200)])
            XCTAssertTrue(server.stop())
        }
        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        // The log held the projected cells: a resend after the restart adds nothing and gets their final answer.
        let again = try client.mapExpression(request(data, 0..<200, batch: "e"))
        XCTAssertEqual(try client.stats().batches, [BatchCount(batch: "e", cells: 200)])
        let export = try client.export(batch: "e")
        XCTAssertEqual(export.cellIDs, (0..<200).map { "q\($0)" })
        assertClose(again.corrected, export.corrected)
        XCTAssertNotEqual(first.corrected, Array(export.corrected[0..<(100 * first.dimensions)]),
                          "the streamed answers are immediate, EXPORT's are final")
        XCTAssertEqual(try client.forget(batch: "e"), 200)
        XCTAssertEqual(try client.stats().batches, [])
        XCTAssertTrue(server.stop())
    }

    func testBadExpressionGetsTypedErrorsAndNothingIsKept() throws {
        let data = try reference()
        let server = try RunningServer(model: data.model)
        let client = try server.client()
        func refused(_ request: ExpressionMapRequest, _ code: ErrorCode, _ note: String) {
            XCTAssertThrowsError(try client.mapExpression(request), note) {
                XCTAssertEqual(($0 as? ClientError)?.serverCode, code, "\(note): \($0)")
            }
        }
        var negative = request(data, 0..<10, batch: "bad")
        negative.values[3] = -2
        refused(negative, .badValue, "negative count")
        var fraction = request(data, 0..<10, batch: "bad")
        fraction.values[0] = 0.5
        refused(fraction, .badValue, "non-integer count")
        var short = request(data, 0..<10, batch: "bad")
        short.totals[4] = 1
        refused(short, .badValue, "total below the row's counts")
        var unsorted = request(data, 0..<10, batch: "bad")
        unsorted.columns.swapAt(0, 1)
        refused(unsorted, .malformed, "unsorted indices")
        var wide = request(data, 0..<10, batch: "bad")
        wide.columns[wide.columns.count - 1] = UInt32(data.query.columnCount)
        refused(wide, .badDimension, "index out of range")
        let g = data.query.columnCount
        let otherG = ExpressionMapRequest(batch: "bad", geneCount: g + 1, valueKind: .counts, totals: [5],
                                          rowStarts: [0, 1], columns: [0], values: [5], cellIDs: ["x"])
        refused(otherG, .badDimension, "G differs from the reference's")
        XCTAssertEqual(try client.stats().batches, [], "nothing of a refused request is kept")
        XCTAssertEqual(try client.stats().cellsMapped, 0)
        // A reference without genes (nor cluster spreads, as a format-1 model file) refuses expression with a
        // sentence saying so, and its version-3 MAP replies carry -1 distances.
        let fitted = try TestModels.make().model
        let model = try ReferenceModel(parameters: fitted.parameters, clusterMass: fitted.clusterMass,
                                       clusterSums: fitted.clusterSums, levelTerms: fitted.levelTerms,
                                       covariates: fitted.covariates, labels: fitted.labels, cells: fitted.cells)
        let plain = try RunningServer(model: model)
        let other = try plain.client()
        XCTAssertNil(try other.info().geneSpace)
        XCTAssertFalse(try other.info().hasMappingDistance)
        XCTAssertThrowsError(try other.mapExpression(request(data, 0..<3, batch: "x"))) {
            guard case .server(let code, _, let message, _) = $0 as? ClientError else { return XCTFail("\($0)") }
            XCTAssertEqual(code, .badDimension)
            XCTAssertTrue(message.contains("no gene space"), message)
        }
        let cells = try TestModels.make().query.selectingRows(0..<2)
        XCTAssertEqual(try other.map(batch: "p", cells: cells).mappingDistance, [-1, -1])
        XCTAssertTrue(plain.stop())
        XCTAssertTrue(server.stop())
    }

    func testDistancesCanBeLeftOutByTheOperator() throws {
        let data = try reference()
        let server = try RunningServer(model: data.model) { $0.mappingDistances = false }
        let client = try server.client()
        XCTAssertFalse(try client.info().hasMappingDistance)
        XCTAssertEqual(try client.mapExpression(request(data, 0..<3, batch: "e")).mappingDistance, [-1, -1, -1])
        XCTAssertTrue(server.stop())
    }

    func testOlderPeersGetTheirOwnLayouts() throws {
        let data = try reference()
        let server = try RunningServer(model: data.model)
        let socket = try RawSocket(path: server.socketPath)
        let cells = try data.model.geneSpace!.project(SimulatedExpressionReference.rows(data.query, [0, 1]),
                                                      totals: Array(data.queryTotals[0..<2]))
        for version: UInt8 in [1, 2] {
            socket.write(InfoRequest().encodedFrame(requestID: 1, version: version)
                         + MapRequest(batch: "old\(version)", cellCount: 2, dimensions: cells.cols,
                                      values: cells.values).encodedFrame(requestID: 2, version: version)
                         + request(data, 0..<2, batch: "x").encodedFrame(requestID: 3, version: version))
            var decoder = FrameDecoder()
            var frames: [Frame] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while frames.count < 3, let n = socket.read(into: &buffer, waiting: 10), n > 0 {
                decoder.append(contentsOf: buffer[0..<n])
                while let frame = try decoder.nextFrame() { frames.append(frame) }
            }
            XCTAssertEqual(frames.count, 3)
            XCTAssertEqual(frames.map(\.header.version), [version, version, version])
            // Decoded in the frame's version, with no byte left over: the old layouts exactly.
            XCTAssertNil(try InfoReply(frame: frames[0]).geneSpace)
            XCTAssertNil(try MapReply(frame: frames[1]).mappingDistance)
            XCTAssertEqual(try ErrorReply(frame: frames[2]).code, .unknownType)
        }
        XCTAssertTrue(server.stop())
    }
}
