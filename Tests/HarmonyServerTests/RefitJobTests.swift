import Foundation
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import Synchronization
import XCTest
@testable import HarmonyServer

final class RefitJobTests: XCTestCase {
    func testRefitUnderLoadFailsNoRequestAndSwitchesVersionOnce() throws {
        let data = try TestModels.make(cells: 2400, seed: 11)
        let server = try RunningServer(model: data.model)
        let control = try server.client()
        let warmup = try control.map(batch: "warm", cells: data.query.selectingRows(0..<100))
        XCTAssertEqual(warmup.modelVersion, 1)

        let clients = 4
        let results = LoadResults(clients: clients)
        let group = DispatchGroup()
        for c in 0..<clients {
            DispatchQueue.global().async(group: group) {
                do {
                    let client = try server.client()
                    var r = 0
                    while !results.isFinished || r < 20 {
                        let rows = (0..<(1 + r % 30)).map { (r * 37 + c * 11 + $0) % data.query.rows }
                        let reply = try client.map(batch: "load\(c)", cells: data.query.selectingRows(rows))
                        results.record(client: c, version: reply.modelVersion)
                        r += 1
                    }
                } catch {
                    results.fail(client: c, "\(error)")
                }
            }
        }
        // Every client has been answered by the old model before the refit starts.
        let started = Date().addingTimeInterval(10)
        while results.versions.contains(where: { $0.isEmpty }) && Date() < started { Thread.sleep(forTimeInterval: 0.005) }
        let refit = try control.refit()
        XCTAssertTrue(refit.accepted, refit.message)
        let stats = try TestModels.waitForRefit(control)
        Thread.sleep(forTimeInterval: 0.1)
        results.finish()
        group.wait()
        let failures = results.failures, versions = results.versions

        XCTAssertEqual(failures.filter { !$0.isEmpty }, [])
        XCTAssertEqual(stats.refitsDone, 1)
        XCTAssertEqual(stats.refitsFailed, 0)
        XCTAssertEqual(try control.stats().modelVersion, 2)
        for list in versions {
            XCTAssertEqual(list.first, 1)
            XCTAssertEqual(list.last, 2)
            XCTAssertEqual(list, list.sorted(), "a reply went back to the old model")
        }
        XCTAssertEqual(try control.map(batch: "warm", cells: data.query.selectingRows(0..<5)).modelVersion, 2)
        XCTAssertTrue(server.stop())
    }

    func testRefitRequestsDuringARefitAndWithoutNewCellsAreRefused() throws {
        let data = try TestModels.make(cells: 2400, seed: 11)
        let server = try RunningServer(model: data.model)
        let client = try server.client()
        let idle = try client.refit()
        XCTAssertFalse(idle.accepted)
        _ = try client.map(batch: "q", cells: data.query.selectingRows(0..<300))
        // Two REFITs in one write are read in the same loop callback, so the second finds the first running.
        let raw = try RawSocket(path: server.socketPath)
        raw.write(RefitRequest().encodedFrame(requestID: 1) + RefitRequest().encodedFrame(requestID: 2))
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while frames.count < 2, let n = raw.read(into: &buffer, waiting: 10), n > 0 {
            decoder.append(contentsOf: buffer[0..<n])
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        XCTAssertEqual(frames.count, 2)
        XCTAssertTrue(try RefitReply(frame: frames[0]).accepted)
        XCTAssertEqual(try ErrorReply(frame: frames[1]).code, .refitInProgress)
        XCTAssertTrue(server.stop())
    }

    func testACompactModelRefusesToRefit() throws {
        let data = try TestModels.make(cells: 600, seed: 3)
        let model = data.model
        let compact = try ReferenceModel(modelVersion: 1, parameters: model.parameters, clusterMass: model.clusterMass,
                                         clusterSums: model.clusterSums, levelTerms: model.levelTerms,
                                         covariates: model.covariates, labels: model.labels, cells: nil)
        let server = try RunningServer(model: compact)
        let client = try server.client()
        _ = try client.map(batch: "q", cells: data.query.selectingRows(0..<10))
        let reply = try client.refit()
        XCTAssertFalse(reply.accepted)
        XCTAssertTrue(reply.message.contains("compact"), reply.message)
        XCTAssertTrue(server.stop())
    }
    func testTheFitStopsBeforeTheIterationItsHookRefuses() throws {
        let data = try TestModels.make()
        let cells = try XCTUnwrap(data.model.cells)
        let covariate = Covariate(name: "batch", labels: cells.covariateCodes[0].map { data.model.covariates[0].levels[Int($0)] })
        var parameters = HarmonyParameters()
        parameters.nClusters = data.model.clusterCount
        parameters.threads = 1
        parameters.earlyStop = false
        let asked = Counter()
        var iterations = 0
        XCTAssertThrowsError(try Harmony.fit(cells.original, covariates: [covariate], parameters: parameters,
                                             progress: { _ in iterations += 1 },
                                             shouldStop: { asked.increment() > 2 })) { error in
            XCTAssertEqual((error as? FitCancelled)?.iterations, 2)
        }
        XCTAssertEqual(iterations, 2)
        XCTAssertEqual(asked.value, 3)
    }

    func testACancelledRefitPersistsNothing() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        let store = ModelStore(directory: directory.path)
        let served = try ServedModel(model: data.model, queryLambda: nil, foldedSequence: 0)
        let job = RefitJob(current: served, cells: [RefitJob.Cells(batch: "q", sequence: 1, ids: nil,
                                                                     values: data.query.selectingRows(0..<50).values,
                                                                     count: 50)],
                           foldedSequence: 1, store: store, threads: 1)
        let cancel = CancellationFlag()
        cancel.set()
        XCTAssertThrowsError(try job.run(queryLambda: nil, clusterLabels: false, cancel: cancel)) { error in
            XCTAssertTrue(error is FitCancelled, "\(error)")
        }
        XCTAssertFalse(StateFiles.exists(store.pointerPath))
        XCTAssertFalse(StateFiles.exists(directory.path + "/" + ModelStore.fileName(version: 2)))
        // Not cancelled, the same job persists its model.
        XCTAssertEqual(try job.run(queryLambda: nil, clusterLabels: false).served.version, 2)
        XCTAssertTrue(StateFiles.exists(store.pointerPath))
    }

    func testAFailedRefitIsCountedAndTheOldModelKeepsServing() throws {
        let data = try TestModels.make(cells: 600, seed: 3)
        let model = data.model, full = data.model.cells!
        // Two reference cells plus two query cells are too few for a Harmony fit, so the refit fails.
        let few = ReferenceCells(ids: Array(full.ids[0..<2]), original: full.original.selectingRows(0..<2),
                                 corrected: full.corrected.selectingRows(0..<2),
                                 covariateCodes: full.covariateCodes.map { Array($0[0..<2]) },
                                 labelCodes: Array(full.labelCodes[0..<2]))
        let tiny = try ReferenceModel(modelVersion: 1, parameters: model.parameters, clusterMass: model.clusterMass,
                                      clusterSums: model.clusterSums, levelTerms: model.levelTerms,
                                      covariates: model.covariates, labels: model.labels, cells: few)
        let server = try RunningServer(model: tiny) { $0.refitAfter = 2 }
        let client = try server.client()
        _ = try client.map(batch: "q", cells: data.query.selectingRows(0..<2))
        let stats = try TestModels.waitForRefit(client)
        XCTAssertEqual(stats.refitsFailed, 1)
        XCTAssertEqual(stats.refitsDone, 0)
        XCTAssertEqual(stats.cellsPendingRefit, 2)
        // Not retried on every request: the next automatic attempt waits for another --refit-after cells.
        XCTAssertEqual(try client.map(batch: "q", cells: data.query.selectingRows(2..<3)).modelVersion, 1)
        XCTAssertFalse(try client.stats().refitRunning)
        XCTAssertEqual(try client.stats().refitsFailed, 1)
        XCTAssertTrue(server.stop())
    }
}

/// Replies seen by the load clients of a refit test (locked: the clients run on several threads).
final class LoadResults: Sendable {
    private struct State {
        var finished = false
        var versions: [[UInt64]]
        var failures: [String]
    }
    private let state: Mutex<State>

    init(clients: Int) {
        state = Mutex(State(versions: [[UInt64]](repeating: [], count: clients),
                            failures: [String](repeating: "", count: clients)))
    }

    var isFinished: Bool { state.withLock { $0.finished } }
    var versions: [[UInt64]] { state.withLock { $0.versions } }
    var failures: [String] { state.withLock { $0.failures } }
    func finish() { state.withLock { $0.finished = true } }
    func record(client: Int, version: UInt64) { state.withLock { $0.versions[client].append(version) } }
    func fail(client: Int, _ message: String) { state.withLock { $0.failures[client] = message } }
}

/// A counter shared with a `@Sendable` closure.
final class Counter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }
    /// Adds one and returns the new count.
    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
}
