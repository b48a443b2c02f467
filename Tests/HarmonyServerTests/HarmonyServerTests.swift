import HarmonyBenchmark
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import XCTest
@testable import HarmonyServer

final class HarmonyServerTests: XCTestCase {
    private func data() throws -> SimulatedReference { try TestModels.make() }

    private func assertClose(_ actual: [Float], _ expected: [Float], relative: Float = 1e-6,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        let scale = max(expected.map { abs($0) }.max() ?? 1, 1e-12)
        var worst: Float = 0
        for (a, e) in zip(actual, expected) { worst = max(worst, abs(a - e)) }
        XCTAssertLessThanOrEqual(worst / scale, relative, "max |diff| \(worst) at scale \(scale)", file: file, line: line)
    }

    func testMapOverTheSocketEqualsOfflineStreamingAndExportEqualsOfflineBatchMapping() throws {
        let data = try data()
        let server = try RunningServer(model: data.model)
        let client = try server.client()
        let hello = try client.hello()
        XCTAssertEqual(hello.version, 3)
        let info = try client.info()
        XCTAssertEqual(info.dimensions, data.model.dimension)
        XCTAssertEqual(info.clusters, data.model.clusterCount)
        XCTAssertEqual(info.modelVersion, 1)

        // One query batch streamed in chunks of 1, 7, 300 (pool path) and the rest.
        let rows = data.queryBatches.indices.filter { data.queryBatches[$0] == "batch03" }
        let cells = data.query.selectingRows(rows)
        let served = try ServedModel(model: data.model, queryLambda: nil, foldedSequence: 0)
        var offline = served.newState()
        var start = 0
        for size in [1, 7, 300, cells.rows - 308] {
            let chunk = cells.selectingRows(start..<(start + size))
            let ids = (start..<(start + size)).map { "q\($0)" }
            let reply = try client.map(batch: "batch03", ids: ids, cells: chunk)
            let expected = try offline.add(cells: chunk, batch: "batch03")
            XCTAssertEqual(reply.modelVersion, 1)
            XCTAssertEqual(reply.cellCount, size)
            assertClose(reply.corrected, expected.corrected.values)
            XCTAssertEqual(reply.topCluster, expected.topCluster.map { UInt32($0) })
            assertClose(reply.topProbability, expected.topProbability)
            XCTAssertTrue(reply.predictedLabel.allSatisfy { $0 >= 0 && Int($0) < info.labels.count })
            start += size
        }

        let exported = try client.export(batch: "batch03")
        let whole = try QueryState.mapJointly(model: data.model, cells: cells,
                                              batches: [String](repeating: "batch03", count: cells.rows),
                                              batchKey: "batch", options: QueryMappingOptions(lambda: 1))
        XCTAssertEqual(exported.cellIDs, (0..<cells.rows).map { "q\($0)" })
        assertClose(exported.corrected, whole.corrected.values)

        let stats = try client.stats()
        XCTAssertEqual(stats.cellsMapped, UInt64(cells.rows))
        XCTAssertEqual(stats.cellsPendingRefit, UInt64(cells.rows))
        XCTAssertEqual(stats.batches, [BatchCount(batch: "batch03", cells: UInt64(cells.rows))])
        XCTAssertEqual(stats.requestsServed, 7)
        XCTAssertGreaterThan(stats.latency.p99, 0)
        client.close()
        XCTAssertTrue(server.stop())
    }

    func testRestartReplaysTheLogDropsATornTailAndExportsTheSameCorrections() throws {
        let data = try data()
        let directory = try TemporaryDirectory()
        var before: [String: ExportReply] = [:]
        do {
            let server = try RunningServer(model: data.model, directory: directory)
            let client = try server.client()
            for (i, batch) in ["batch03", "batch04", "batch03", "ref-level"].enumerated() {
                let rows = (0..<(40 + 30 * i)).map { (i * 101 + $0) % data.query.rows }
                _ = try client.map(batch: batch == "ref-level" ? "batch01" : batch, cells: data.query.selectingRows(rows))
            }
            for batch in ["batch03", "batch04", "batch01"] { before[batch] = try client.export(batch: batch) }
            XCTAssertTrue(server.stop())
        }
        // A record cut short by a crash, right after the last good one (in the preallocated zeros): its header
        // promises more bytes than landed.
        let wal = directory.path + "/state/wal.log"
        var bytes = try StateFiles.read(wal)
        let validEnd = try WALRecovery.parse(bytes, path: wal).validBytes
        XCTAssertGreaterThan(bytes.count, validEnd + 10, "the log keeps preallocated space after its records")
        bytes.replaceSubrange(validEnd..<(validEnd + 10), with: [200, 0, 0, 0, 1, 2, 3, 4, 9, 9])
        try StateFiles.writeAtomically(bytes, to: wal)
        XCTAssertNotNil(try WALRecovery.parse(bytes, path: wal).discardReason)

        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        let stats = try client.stats()
        XCTAssertEqual(stats.batches.map { $0.batch }, ["batch01", "batch03", "batch04"])
        XCTAssertEqual(stats.cellsPendingRefit, UInt64(40 + 70 + 100 + 130))
        for (batch, reply) in before {
            let after = try client.export(batch: batch)
            XCTAssertEqual(after.cellIDs, reply.cellIDs)
            assertClose(after.corrected, reply.corrected)
        }
        // The torn bytes are gone: the log reads clean and ends where it did before the crash.
        let reread = try WALRecovery.read(path: wal)
        XCTAssertNil(reread.discardReason, "the torn tail is cut before appending")
        XCTAssertEqual(reread.validBytes, validEnd)
        XCTAssertTrue(server.stop())
    }

    // Defect: a one-cell MAP without ids into a batch labelled with 65,534 bytes was accepted and logged; its
    // generated id `<label>#0` did not fit a str16, so EXPORT trapped the server, and again after every restart.
    func testAnOverlongBatchLabelIsRefusedBeforeAnythingIsLoggedAndTheServerKeepsServing() throws {
        let data = try data()
        let directory = try TemporaryDirectory()
        let label = String(repeating: "b", count: 65_534)
        let cell = data.query.selectingRows(0..<1)
        do {
            let server = try RunningServer(model: data.model, directory: directory)
            let client = try server.client()
            XCTAssertThrowsError(try client.map(batch: label, cells: cell)) { error in
                XCTAssertEqual((error as? ClientError)?.serverCode, .malformed, "\(error)")
            }
            XCTAssertThrowsError(try client.export(batch: label)) { error in
                XCTAssertEqual((error as? ClientError)?.serverCode, .unknownBatch, "\(error)")
            }
            let longest = String(repeating: "c", count: ProtocolLimits.maxBatchLabelBytes)
            _ = try client.map(batch: longest, cells: cell)
            let exported = try client.export(batch: longest)
            XCTAssertEqual(exported.cellIDs, [longest + "#0"])
            XCTAssertEqual(try client.stats().cellsPendingRefit, 1)
            XCTAssertTrue(server.stop())
        }
        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        XCTAssertEqual(try client.stats().batches.map { $0.batch.utf8.count }, [ProtocolLimits.maxBatchLabelBytes])
        XCTAssertThrowsError(try client.export(batch: label))
        XCTAssertTrue(server.stop())
    }
}
