import HarmonyBenchmark
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import XCTest
@testable import HarmonyServer

/// The log's checkpoint at each refit: a restart replays the checkpoint and only the records logged after it.
final class CheckpointTests: XCTestCase {
    private func exports(_ client: HarmonyClient, _ batches: [String]) throws -> [String: ExportReply] {
        var out: [String: ExportReply] = [:]
        for batch in batches { out[batch] = try client.export(batch: batch) }
        return out
    }

    private func assertSame(_ actual: [String: ExportReply], _ expected: [String: ExportReply],
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), file: file, line: line)
        for (batch, want) in expected {
            guard let got = actual[batch] else { continue }
            XCTAssertEqual(got.cellIDs, want.cellIDs, batch, file: file, line: line)
            XCTAssertEqual(got.modelVersion, want.modelVersion, batch, file: file, line: line)
            XCTAssertEqual(got.corrected.count, want.corrected.count, batch, file: file, line: line)
            let worst = zip(got.corrected, want.corrected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(batch): max |diff| \(worst)", file: file, line: line)
        }
    }

    private func restart(_ data: SimulatedReference, _ directory: TemporaryDirectory,
                         check: (HarmonyClient) throws -> Void) throws {
        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        try check(client)
        client.close()
        XCTAssertTrue(server.stop())
    }

    func testRestartAfterARefitReplaysOnlyLaterRecordsWithTheSameExportsAndIDs() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        let state = directory.path + "/state"
        let batches = ["kept", "anonymous", "fresh"]
        var before: [String: ExportReply] = [:]
        var logBeforeRefit: [WALRecord] = []
        do {
            let server = try RunningServer(model: data.model, directory: directory)
            let client = try server.client()
            _ = try client.map(batch: "kept", ids: (0..<40).map { "k\($0)" }, cells: data.query.selectingRows(0..<40))
            _ = try client.map(batch: "anonymous", cells: data.query.selectingRows(40..<60))
            _ = try client.map(batch: "dropped", ids: ["x"], cells: data.query.selectingRows(60..<61))
            _ = try client.forget(batch: "dropped")
            // A retry whose first half the batch holds already: only k40..k59 are new.
            _ = try client.map(batch: "kept", ids: (20..<60).map { "k\($0)" }, cells: data.query.selectingRows(20..<60))
            logBeforeRefit = try WALRecovery.read(path: state + "/wal.log").records
            XCTAssertEqual(logBeforeRefit.count, 5)
            XCTAssertTrue(try client.refit().accepted)
            XCTAssertEqual(try TestModels.waitForRefit(client).refitsDone, 1)
            _ = try client.map(batch: "kept", ids: ["late0", "late1"], cells: data.query.selectingRows(100..<102))
            _ = try client.map(batch: "fresh", cells: data.query.selectingRows(102..<105))
            before = try exports(client, batches)
            client.close()
            XCTAssertTrue(server.stop())
        }
        XCTAssertEqual(before["kept"]?.cellCount, 62)
        XCTAssertEqual(before["kept"]?.modelVersion, 2)

        // The log holds only the two records after the refit; the checkpoint holds the batches' cells before it.
        let checkpoint = try XCTUnwrap(try Checkpoint.read(path: state + "/" + Checkpoint.fileName))
        let log = try WALRecovery.read(path: state + "/wal.log").records
        XCTAssertEqual(log.map(\.batch), ["kept", "fresh"])
        XCTAssertTrue(log.allSatisfy { $0.sequence > checkpoint.throughSequence })
        XCTAssertEqual(checkpoint.throughSequence, logBeforeRefit.last?.sequence)
        XCTAssertEqual(checkpoint.records.map(\.batch), ["kept", "anonymous", "kept"])
        XCTAssertEqual(checkpoint.records.map(\.count), [40, 20, 20])
        XCTAssertEqual(checkpoint.records[2].ids, (40..<60).map { "k\($0)" })

        let check: (HarmonyClient) throws -> Void = { client in
            self.assertSame(try self.exports(client, batches), before)
            let stats = try client.stats()
            XCTAssertEqual(stats.cellsMapped, 62 + 20 + 3)
            XCTAssertEqual(stats.cellsPendingRefit, 5)
            // Exactly once across the checkpoint: ids folded before it are still known.
            let retry = try client.map(batch: "kept", ids: (0..<10).map { "k\($0)" }, cells: data.query.selectingRows(0..<10))
            XCTAssertEqual(retry.cellCount, 10)
            XCTAssertEqual(try client.stats().batches.first { $0.batch == "kept" }?.cells, 62)
        }
        try restart(data, directory, check: check)

        // A crash after the checkpoint was written but before the log was cut leaves the covered records in the
        // log too: recovery skips them (the anonymous cells, which have no ids, would otherwise count twice).
        var bytes = WriteAheadLog.fileMagic
        for record in logBeforeRefit + log { bytes.append(record) }
        try StateFiles.writeAtomically(bytes, to: state + "/wal.log")
        try restart(data, directory, check: check)
    }

    func testADamagedCheckpointStopsTheStart() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/" + Checkpoint.fileName
        let record = WALRecord(sequence: 3, batch: "b", ids: ["a", "c"], count: 2, dims: 2, cells: [1, 2, 3, 4])
        var bytes = Checkpoint.fileMagic
        bytes.append(littleEndian: 4)
        bytes.append(record)
        try StateFiles.writeAtomically(bytes, to: path)
        let read = try XCTUnwrap(try Checkpoint.read(path: path))
        XCTAssertEqual(read.throughSequence, 4)
        XCTAssertEqual(read.records, [record])

        bytes[bytes.count - 1] ^= 0x40
        try StateFiles.writeAtomically(bytes, to: path)
        XCTAssertThrowsError(try Checkpoint.read(path: path))
        try StateFiles.writeAtomically(Array(bytes[0..<12]), to: path)
        XCTAssertThrowsError(try Checkpoint.read(path: path))
    }
}
