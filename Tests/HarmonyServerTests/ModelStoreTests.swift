import Foundation
import HarmonyBenchmark
import HarmonyClient
import HarmonyCore
import Synchronization
import XCTest
@testable import HarmonyServer

/// Crash safety of the state directory, with the real binary killed by SIGKILL, and refits.
final class ModelStoreTests: XCTestCase {
    private func data() throws -> SimulatedReference { try TestModels.make() }

    private func daemon(_ directory: TemporaryDirectory, extra: [String] = []) throws -> DaemonProcess {
        try DaemonProcess(socket: directory.path + "/h.sock",
                          arguments: ["--reference", directory.path + "/ref.hmod", "--state-dir",
                                      directory.path + "/state"] + extra)
    }

    /// Streams chunks of the query from `clients` threads until `stop` is set; returns acknowledged ids per batch.
    private func stream(_ path: String, data: SimulatedReference, clients: Int, refitEvery: Int = 0,
                        while running: @escaping @Sendable () -> Bool) -> [String: Set<String>] {
        // Each client thread appends to its own list, under the lock.
        let acknowledged = Mutex([[String]](repeating: [], count: clients))
        DispatchQueue.concurrentPerform(iterations: clients) { c in
            guard let client = try? HarmonyClient.connect(path, timeoutSeconds: 10) else { return }
            var r = 0
            while running() {
                let n = 1 + (r * 17 + c) % 50
                let rows = (0..<n).map { (r * 53 + c * 7 + $0) % data.query.rows }
                let ids = (0..<n).map { "c\(c)-r\(r)-\($0)" }
                guard let reply = try? client.map(batch: "stream\(c)", ids: ids, cells: data.query.selectingRows(rows)),
                      reply.cellCount == n else { return }
                acknowledged.withLock { $0[c] += ids }
                r += 1
                if refitEvery > 0 && r % refitEvery == 0 { _ = try? client.refit() }
            }
        }
        var byBatch: [String: Set<String>] = [:]
        for (c, ids) in acknowledged.withLock({ $0 }).enumerated() { byBatch["stream\(c)"] = Set(ids) }
        return byBatch
    }

    private func assertRecovered(_ acknowledged: [String: Set<String>], by client: HarmonyClient,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let stats = try client.stats()
        for (batch, ids) in acknowledged where !ids.isEmpty {
            let exported = try client.export(batch: batch)
            let present = Set(exported.cellIDs)
            XCTAssertTrue(ids.isSubset(of: present), "\(batch): \(ids.subtracting(present).count) acknowledged cells lost",
                          file: file, line: line)
            XCTAssertEqual(stats.batches.first { $0.batch == batch }?.cells, UInt64(exported.cellCount),
                           file: file, line: line)
        }
    }

    func testKillDuringStreamingKeepsEveryAcknowledgedCell() throws {
        let data = try data()
        let directory = try TemporaryDirectory()
        try ModelFile.write(data.model, to: directory.path + "/ref.hmod")
        let first = try daemon(directory)
        let killAt = Date().addingTimeInterval(0.6)
        let killer = Thread { while Date() < killAt { Thread.sleep(forTimeInterval: 0.01) }; first.crash() }
        killer.start()
        let acknowledged = stream(first.socketPath, data: data, clients: 4) { first.process.isRunning }
        XCTAssertGreaterThan(acknowledged.values.reduce(0) { $0 + $1.count }, 100)

        let second = try daemon(directory)
        try assertRecovered(acknowledged, by: try second.client())
        XCTAssertEqual(second.stop(), 0)
        XCTAssertTrue(second.log.contains("recovery records="), second.log)
    }

    func testKillDuringRefitsKeepsAValidModelAndEveryAcknowledgedCell() throws {
        let data = try data()
        let directory = try TemporaryDirectory()
        try ModelFile.write(data.model, to: directory.path + "/ref.hmod")
        let first = try daemon(directory, extra: ["--refit-after", "200"])
        let killAt = Date().addingTimeInterval(1.0)
        let killer = Thread { while Date() < killAt { Thread.sleep(forTimeInterval: 0.01) }; first.crash() }
        killer.start()
        let acknowledged = stream(first.socketPath, data: data, clients: 3, refitEvery: 5) { first.process.isRunning }
        let log = first.log
        XCTAssertTrue(log.contains("refit-start"), log)

        let second = try daemon(directory)
        let client = try second.client()
        let info = try client.info()
        XCTAssertGreaterThanOrEqual(info.modelVersion, 1)
        try assertRecovered(acknowledged, by: client)
        XCTAssertEqual(second.stop(), 0)
    }

    func testRefitIsPersistedAndWinsOverTheReferenceAfterACleanRestart() throws {
        let data = try data()
        let directory = try TemporaryDirectory()
        try ModelFile.write(data.model, to: directory.path + "/ref.hmod")
        let first = try daemon(directory)
        let client = try first.client()
        let rows = Array(0..<150)
        _ = try client.map(batch: "late", ids: rows.map { "late\($0)" }, cells: data.query.selectingRows(rows))
        let refit = try client.refit()
        XCTAssertTrue(refit.accepted, refit.message)
        let stats = try TestModels.waitForRefit(client)
        XCTAssertEqual(stats.refitsDone, 1)
        XCTAssertEqual(stats.modelVersion, 2)
        XCTAssertEqual(stats.cellsPendingRefit, 0)
        XCTAssertEqual(try client.map(batch: "late", cells: data.query.selectingRows([200])).modelVersion, 2)
        XCTAssertEqual(first.stop(signal: SIGINT), 0)
        XCTAssertTrue(first.log.contains("refit-end version=2"), first.log)

        let second = try daemon(directory)
        let again = try second.client()
        let info = try again.info()
        XCTAssertEqual(info.modelVersion, 2)
        XCTAssertTrue(info.batches.contains("late"), "\(info.batches)")
        XCTAssertEqual(info.referenceCells, UInt64(data.model.cellCount + 150))
        let restarted = try again.stats()
        XCTAssertEqual(restarted.cellsPendingRefit, 1)
        XCTAssertEqual(try again.export(batch: "late").cellCount, 151)
        XCTAssertEqual(second.stop(), 0)
    }
}
