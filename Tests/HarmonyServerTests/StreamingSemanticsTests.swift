import Foundation
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import XCTest
@testable import HarmonyServer

/// Exactly-once cells, FORGET, transient mapping, counts after restarts, version-1 clients and label transfer.
final class StreamingSemanticsTests: XCTestCase {
    private func assertClose(_ actual: [Float], _ expected: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        let scale = max(expected.map { abs($0) }.max() ?? 1, 1e-12)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst / scale, 1e-6, "max |diff| \(worst) at scale \(scale)", file: file, line: line)
    }

    private func ids(_ range: Range<Int>) -> [String] { range.map { "q\($0)" } }

    func testResentIdsAreNotAddedAgainAndAnswerWithTheirCurrentCorrection() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        let cells = data.query.selectingRows(0..<150)
        let served = try ServedModel(model: data.model, queryLambda: nil, foldedSequence: 0)
        do {
            let server = try RunningServer(model: data.model, directory: directory)
            let client = try server.client()
            _ = try client.map(batch: "q", ids: ids(0..<100), cells: cells.selectingRows(0..<100))
            // A retry that overlaps: q50..q99 are held already, q100..q149 are new.
            let reply = try client.map(batch: "q", ids: ids(50..<150), cells: cells.selectingRows(50..<150))
            var offline = served.newState()
            _ = try offline.add(cells: cells.selectingRows(0..<100), batch: "q")
            let added = try offline.add(cells: cells.selectingRows(100..<150), batch: "q")
            let held = try offline.correct(cells: cells.selectingRows(50..<100),
                                           batches: [String](repeating: "q", count: 50))
            let d = cells.cols
            assertClose(Array(reply.corrected[0..<(50 * d)]), held.corrected.values)
            assertClose(Array(reply.corrected[(50 * d)...]), added.corrected.values)
            // Duplicates within one request count once; the whole set again adds nothing.
            _ = try client.map(batch: "q", ids: ["q0", "q0", "q149"], cells: cells.selectingRows([0, 0, 149]))
            let stats = try client.stats()
            XCTAssertEqual(stats.cellsMapped, 150)
            XCTAssertEqual(stats.cellsPendingRefit, 150)
            XCTAssertEqual(stats.batches, [BatchCount(batch: "q", cells: 150)])
            XCTAssertEqual(try client.export(batch: "q").cellIDs, ids(0..<150))
            XCTAssertTrue(server.stop())
        }
        // After a restart the ids come back from the log: resending everything still adds nothing.
        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        XCTAssertEqual(try client.stats().cellsMapped, 150, "recovered cells count as mapped")
        _ = try client.map(batch: "q", ids: ids(0..<150), cells: cells)
        XCTAssertEqual(try client.stats().batches, [BatchCount(batch: "q", cells: 150)])
        let whole = try QueryState.mapJointly(model: data.model, cells: cells,
                                              batches: [String](repeating: "q", count: 150),
                                              batchKey: "batch", options: QueryMappingOptions(lambda: 1))
        assertClose(try client.export(batch: "q").corrected, whole.corrected.values)
        XCTAssertTrue(server.stop())
    }

    func testForgetDropsABatchDurablyAndItsIdsCanBeSentAgain() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        let cells = data.query.selectingRows(0..<30)
        do {
            let server = try RunningServer(model: data.model, directory: directory)
            let client = try server.client()
            _ = try client.map(batch: "keep", ids: ids(0..<10), cells: cells.selectingRows(0..<10))
            _ = try client.map(batch: "oops", ids: ids(10..<30), cells: cells.selectingRows(10..<30))
            XCTAssertEqual(try client.forget(batch: "oops"), 20)
            XCTAssertThrowsError(try client.export(batch: "oops")) {
                XCTAssertEqual(($0 as? ClientError)?.serverCode, .unknownBatch, "\($0)")
            }
            XCTAssertThrowsError(try client.forget(batch: "oops")) {
                XCTAssertEqual(($0 as? ClientError)?.serverCode, .unknownBatch, "\($0)")
            }
            let stats = try client.stats()
            XCTAssertEqual(stats.batches, [BatchCount(batch: "keep", cells: 10)])
            XCTAssertEqual(stats.cellsMapped, 10)
            XCTAssertEqual(stats.cellsPendingRefit, 10)
            XCTAssertTrue(server.stop())
        }
        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        XCTAssertEqual(try client.stats().batches, [BatchCount(batch: "keep", cells: 10)])
        // Forgotten ids are new again.
        _ = try client.map(batch: "oops", ids: ids(10..<15), cells: cells.selectingRows(10..<15))
        XCTAssertEqual(try client.export(batch: "oops").cellIDs, ids(10..<15))
        // A refit folds only what is held: 10 + 5 cells.
        XCTAssertTrue(try client.refit().accepted)
        let refitted = try TestModels.waitForRefit(client)
        XCTAssertEqual(refitted.refitsDone, 1)
        XCTAssertEqual(try client.info().referenceCells, UInt64(data.model.cellCount + 15))
        XCTAssertTrue(server.stop())
    }

    func testTransientMapAnswersLikeTheNextMapAndKeepsNothing() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        let cells = data.query.selectingRows(0..<60)
        let served = try ServedModel(model: data.model, queryLambda: nil, foldedSequence: 0)
        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        _ = try client.map(batch: "q", ids: ids(0..<40), cells: cells.selectingRows(0..<40))
        let walBytes = try StateFiles.read(server.stateDirectory + "/wal.log")
        let peek = try client.mapTransient(batch: "q", cells: cells.selectingRows(40..<60))
        var offline = served.newState()
        _ = try offline.add(cells: cells.selectingRows(0..<40), batch: "q")
        var copy = offline
        assertClose(peek.corrected, try copy.add(cells: cells.selectingRows(40..<60), batch: "q").corrected.values)
        // An unknown batch is answered from a fresh state and stays unknown.
        var fresh = served.newState()
        let unseen = try client.mapTransient(batch: "elsewhere", cells: cells.selectingRows(0..<5))
        assertClose(unseen.corrected, try fresh.add(cells: cells.selectingRows(0..<5), batch: "elsewhere").corrected.values)
        let stats = try client.stats()
        XCTAssertEqual(stats.batches, [BatchCount(batch: "q", cells: 40)])
        XCTAssertEqual(stats.cellsMapped, 40)
        XCTAssertEqual(try StateFiles.read(server.stateDirectory + "/wal.log"), walBytes, "nothing was logged")
        // The batch state is untouched: the next real MAP gets what it would have got without the peek.
        let next = try client.map(batch: "q", ids: ids(40..<60), cells: cells.selectingRows(40..<60))
        assertClose(next.corrected, try offline.add(cells: cells.selectingRows(40..<60), batch: "q").corrected.values)
        XCTAssertTrue(server.stop())
    }

    /// Replies in a version-1 header to version-1 frames; version-2 types in a version-1 frame, and reply types
    /// sent by a client, are UNKNOWN_TYPE; the connection survives all of them.
    func testVersionOneClientsAndReplyTypesFromClients() throws {
        let data = try TestModels.make()
        let server = try RunningServer(model: data.model)
        let socket = try RawSocket(path: server.socketPath)
        var decoder = FrameDecoder(maxPayloadBytes: 1 << 24)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func exchange(_ frame: [UInt8]) throws -> Frame {
            socket.write(frame)
            while true {
                if let frame = try decoder.nextFrame() { return frame }
                guard let n = socket.read(into: &buffer, waiting: 10), n > 0 else {
                    throw POSIXError(.ECONNRESET)
                }
                decoder.append(contentsOf: buffer[0..<n])
            }
        }
        let info = try exchange(InfoRequest().encodedFrame(requestID: 1, version: 1))
        XCTAssertEqual(info.header.version, 1)
        XCTAssertEqual(info.header.typeByte, MessageType.infoReply.rawValue)
        let forgetV1 = try exchange(ForgetRequest(batch: "x").encodedFrame(requestID: 2, version: 1))
        XCTAssertEqual(try ErrorReply(frame: forgetV1).code, .unknownType)
        XCTAssertEqual(forgetV1.header.requestID, 2)
        let replyTypes: [UInt8] = [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0xFF]
        for (i, type) in replyTypes.enumerated() {
            // Payloads that would be MALFORMED or BAD_DIMENSION as replies: the type decides first.
            let header = FrameHeader(version: 2, typeByte: type, flags: 0, requestID: UInt32(10 + i), payloadLength: 3)
            let answer = try exchange(header.bytes + [1, 2, 3])
            XCTAssertEqual(try ErrorReply(frame: answer).code, .unknownType, "type 0x\(String(type, radix: 16))")
            XCTAssertEqual(answer.header.requestID, UInt32(10 + i))
        }
        let hello = try exchange(HelloRequest(minVersion: 1, maxVersion: 9, clientName: "t").encodedFrame(requestID: 30, version: 1))
        XCTAssertEqual(try HelloReply(frame: hello).version, 3)
        XCTAssertEqual(hello.header.version, 3)
        let inverted = try exchange(HelloRequest(minVersion: 2, maxVersion: 1, clientName: "t").encodedFrame(requestID: 31, version: 1))
        XCTAssertEqual(try ErrorReply(frame: inverted).code, .unsupportedVersion)
        XCTAssertTrue(server.stop())
    }

    /// The daemon's labels are those of offline `harmony map`: a vote among the 5 nearest reference cells.
    func testLabelsComeFromTheNearestNeighbourVote() throws {
        let data = try TestModels.make()
        let server = try RunningServer(model: data.model)
        let client = try server.client()
        let cells = data.query.selectingRows(0..<200)
        let reply = try client.map(batch: "q", cells: cells)
        let transfer = try XCTUnwrap(LabelTransfer(model: data.model))
        XCTAssertEqual(transfer.method, .nearestNeighbors)
        let served = try ServedModel(model: data.model, queryLambda: nil, foldedSequence: 0)
        var offline = served.newState()
        let mapped = try offline.add(cells: cells, batch: "q")
        let expected = try transfer.predict(corrected: mapped.corrected, assignments: nil)
        XCTAssertEqual(reply.predictedLabel, expected.codes)
        XCTAssertEqual(reply.labelConfidence, expected.confidence)
        XCTAssertTrue(server.stop())
    }
}

/// Bounded resources: slow frames, batches and cells held.
final class ServerLimitTests: XCTestCase {
    /// A peer that trickles a frame byte by byte is closed once the frame timeout passes.
    func testAFrameTrickledSlowerThanTheFrameTimeoutClosesTheConnection() throws {
        let server = try RunningServer(model: try TestModels.make().model) { $0.frameTimeoutSeconds = 1 }
        let socket = try RawSocket(path: server.socketPath)
        let frame = InfoRequest().encodedFrame(requestID: 1)
        var buffer = [UInt8](repeating: 0, count: 64)
        var closed = false
        let started = Date()
        // Bytes keep arriving (never idle), but the frame is never complete.
        for byte in frame.dropLast() {
            socket.write([byte])
            if socket.read(into: &buffer, waiting: 0.4) == nil {
                closed = true
                break
            }
        }
        XCTAssertTrue(closed, "the connection stayed open for \(Date().timeIntervalSince(started)) s")
        // Complete frames on a fresh connection are unaffected.
        XCTAssertEqual(try server.client().info().dimensions, try TestModels.make().model.dimension)
        XCTAssertTrue(server.stop())
    }

    func testMapsBeyondTheBatchAndCellCapsAreBusyAndKeepNothing() throws {
        let data = try TestModels.make()
        let server = try RunningServer(model: data.model) {
            $0.maxBatches = 2
            $0.maxCellsHeld = 10
        }
        let client = try server.client()
        let cells = data.query.selectingRows(0..<12)
        _ = try client.map(batch: "a", cells: cells.selectingRows(0..<4))
        _ = try client.map(batch: "b", cells: cells.selectingRows(4..<8))
        XCTAssertThrowsError(try client.map(batch: "c", cells: cells.selectingRows(8..<9))) {
            XCTAssertEqual(($0 as? ClientError)?.serverCode, .busy, "\($0)")
        }
        XCTAssertThrowsError(try client.map(batch: "a", cells: cells.selectingRows(8..<11))) {
            XCTAssertEqual(($0 as? ClientError)?.serverCode, .busy, "\($0)")
        }
        _ = try client.map(batch: "a", cells: cells.selectingRows(8..<10))
        XCTAssertEqual(try client.stats().cellsMapped, 10)
        // FORGET frees room.
        XCTAssertEqual(try client.forget(batch: "b"), 4)
        _ = try client.map(batch: "c", cells: cells.selectingRows(10..<12))
        XCTAssertEqual(try client.stats().batches.map(\.batch), ["a", "c"])
        XCTAssertTrue(server.stop())
    }
}

/// Batches whose state was evicted rebuild it from their cells: the answers do not change.
final class BatchStateCacheTests: XCTestCase {
    func testEvictedBatchStatesAreRebuiltToTheSameAnswers() throws {
        let data = try TestModels.make()
        let server = try RunningServer(model: data.model) { $0.batchStates = 1 }
        let client = try server.client()
        let served = try ServedModel(model: data.model, queryLambda: nil, foldedSequence: 0)
        var offline = ["a": served.newState(), "b": served.newState()]
        // Alternating batches: with room for one state, every MAP finds its batch's state evicted.
        for step in 0..<8 {
            let batch = step % 2 == 0 ? "a" : "b"
            let cells = data.query.selectingRows((step * 5)..<(step * 5 + 5))
            let reply = try client.map(batch: batch, cells: cells)
            let expected = try offline[batch]!.add(cells: cells, batch: batch)
            let worst = zip(reply.corrected, expected.corrected.values).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, "step \(step)")
        }
        XCTAssertEqual(server.server.stateCache.count, 1)
        XCTAssertTrue(server.stop())
    }
}

/// The server's lifecycle from the embedding program's side.
final class ServerLifecycleTests: XCTestCase {
    func testStopAfterRunReturnedIsHarmless() throws {
        let server = try RunningServer(model: try TestModels.make().model)
        XCTAssertTrue(server.stop())
        // run() has returned and the loop is closed: further stops, from any thread, do nothing.
        server.server.stop()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in server.server.stop() }
    }
}
