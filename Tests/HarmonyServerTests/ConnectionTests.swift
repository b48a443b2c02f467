import Foundation
import HarmonyBenchmark
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import Synchronization
import XCTest
@testable import HarmonyServer

/// Pipelining, ordering and untrusted input over real connections to an in-process daemon.
final class ConnectionTests: XCTestCase {
    private func data() throws -> SimulatedReference { try TestModels.make() }

    func testThirtyTwoPipeliningClientsGetEveryReplyCorrectAndInOrder() throws {
        let data = try data()
        let server = try RunningServer(model: data.model)
        let served = try ServedModel(model: data.model, queryLambda: nil, foldedSequence: 0)
        let clients = 32, requestsPerClient = 24, d = data.model.dimension
        // Each client thread writes its own slot, under the lock.
        let failures = Mutex([String](repeating: "", count: clients))
        DispatchQueue.concurrentPerform(iterations: clients) { c in
            do {
                // Each client streams its own batch, so the expected replies follow from its requests alone.
                let batch = "client\(c)"
                var requests: [MapRequest] = []
                var expected: [MappedCells] = []
                var state = served.newState()
                for r in 0..<requestsPerClient {
                    let n = 1 + (c * 7 + r * 13) % 40
                    let rows = (0..<n).map { (c * 97 + r * 31 + $0) % data.query.rows }
                    let cells = data.query.selectingRows(rows)
                    requests.append(MapRequest(batch: batch, cellCount: n, dimensions: d, values: cells.values))
                    expected.append(try state.add(cells: cells, batch: batch))
                }
                let client = try server.client()
                var seen = 0
                try client.mapMany(requests, window: 8) { index, reply in
                    guard index == seen else { throw ClientError.protocolViolation("reply \(index) out of order") }
                    seen += 1
                    let want = expected[index].corrected.values
                    let worst = zip(reply.corrected, want).map { abs($0 - $1) }.max() ?? 0
                    if reply.cellCount != requests[index].cellCount || worst > 1e-5 {
                        throw ClientError.protocolViolation("reply \(index) differs by \(worst)")
                    }
                }
                if seen != requestsPerClient { failures.withLock { $0[c] = "client \(c) saw \(seen) replies" } }
                client.close()
            } catch {
                failures.withLock { $0[c] = "client \(c): \(error)" }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }.filter { !$0.isEmpty }, [])
        let stats = try server.client().stats()
        XCTAssertEqual(stats.batches.count, clients)
        XCTAssertTrue(server.stop())
    }

    // MARK: - Untrusted input

    /// Sends raw bytes on a fresh connection and returns the frames received before the server closed it
    /// (or `wait` seconds passed).
    private func exchange(_ path: String, _ bytes: [UInt8], wait: Double = 2) throws -> (frames: [Frame], closed: Bool) {
        let socket = try RawSocket(path: path)
        socket.write(bytes)
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            guard let n = socket.read(into: &buffer, waiting: wait) else { return (frames, true) }
            if n == 0 { return (frames, false) }
            decoder.append(contentsOf: buffer[0..<n])
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
    }

    private func errorCode(_ frame: Frame) -> ErrorCode? {
        guard frame.header.typeByte == MessageType.error.rawValue else { return nil }
        return (try? ErrorReply(frame: frame))?.code
    }

    private func header(type: UInt8, id: UInt32, length: UInt32, version: UInt8 = 1) -> [UInt8] {
        var bytes: [UInt8] = [0x48, 0x4D, 0x4E, 0x59, version, type, 0, 0]
        withUnsafeBytes(of: id.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: length.littleEndian) { bytes += $0 }
        return bytes
    }

    func testBadInputGetsTypedErrorsOrACleanCloseAndOtherClientsKeepBeingServed() throws {
        let data = try data()
        let server = try RunningServer(model: data.model) { $0.maxFrameBytes = 1 << 20 }
        let path = server.socketPath
        let bystander = try server.client()
        let d = data.model.dimension
        let good = MapRequest(batch: "b", cellCount: 1, dimensions: d, values: data.query.row(0))

        // Framing lost: ERROR then close.
        var result = try exchange(path, Array("GET / HTTP/1.1\r\n\r\n".utf8))
        XCTAssertEqual(result.frames.map(errorCode), [.badMagic])
        XCTAssertTrue(result.closed)
        result = try exchange(path, header(type: 0x03, id: 5, length: 2 << 20))
        XCTAssertEqual(result.frames.map(errorCode), [.frameTooLarge])
        XCTAssertTrue(result.closed)
        result = try exchange(path, header(type: 0x02, id: 6, length: 0, version: 9))
        XCTAssertEqual(result.frames.map(errorCode), [.unsupportedVersion])
        XCTAssertTrue(result.closed)

        // Payload errors: typed ERROR with the request id, connection stays usable.
        var nan = good
        nan.values[0] = .nan
        let nanFrame = header(type: 0x03, id: 11, length: UInt32(nan.encodedPayload().count)) + nan.encodedPayload()
        var wrongD = MapRequest(batch: "b", cellCount: 1, dimensions: d + 1, values: [Float](repeating: 0.5, count: d + 1))
        wrongD.batch = "b"
        let stream = header(type: 0x42, id: 10, length: 0) + nanFrame
            + wrongD.encodedFrame(requestID: 12)
            + header(type: 0x03, id: 13, length: 3) + [1, 2, 3]
            + InfoRequest().encodedFrame(requestID: 14)
            + good.encodedFrame(requestID: 15)
        result = try exchange(path, stream, wait: 1)
        XCTAssertEqual(result.frames.map { $0.header.requestID }, [10, 11, 12, 13, 14, 15])
        XCTAssertEqual(result.frames.map(errorCode), [.unknownType, .nonFinite, .badDimension, .malformed, nil, nil])
        XCTAssertFalse(result.closed)

        // A truncated frame: nothing answered until the peer hangs up, then the server just closes.
        result = try exchange(path, Array(good.encodedFrame(requestID: 20).dropLast(3)), wait: 0.5)
        XCTAssertEqual(result.frames.count, 0)

        // Random bytes from a seeded generator: an ERROR or nothing, never a crash.
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<50 {
            let junk = (0..<Int.random(in: 1...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            result = try exchange(path, junk, wait: 0.2)
            XCTAssertLessThanOrEqual(result.frames.count, 1)
        }

        let reply = try bystander.map(good)
        XCTAssertEqual(reply.cellCount, 1)
        XCTAssertEqual(try bystander.stats().cellsMapped, 2)
        XCTAssertTrue(server.stop())
    }

    func testConnectionLimitAndIdleTimeout() throws {
        let data = try data()
        let server = try RunningServer(model: data.model) {
            $0.maxConnections = 2
            $0.idleTimeoutSeconds = 1
        }
        let first = try server.client(), second = try server.client()
        _ = try first.info()
        _ = try second.info()
        // The connection over the limit is told BUSY (request id 0) and closed, before it sends anything.
        let refused = try exchange(server.socketPath, [], wait: 5)
        XCTAssertEqual(refused.frames.map(errorCode), [.busy])
        XCTAssertEqual(refused.frames.first?.header.requestID, 0)
        XCTAssertTrue(refused.closed)
        Thread.sleep(forTimeInterval: 3)
        XCTAssertThrowsError(try first.info(), "an idle connection is closed after the timeout")
        XCTAssertEqual(try server.client().info().dimensions, data.model.dimension)
        XCTAssertTrue(server.stop())
    }

    func testAPeerThatDoesNotReadItsRepliesIsNoLongerRead() throws {
        let data = try data()
        let server = try RunningServer(model: data.model) { $0.shutdownGraceSeconds = 1 }
        let rows = (0..<1000).map { $0 % data.query.rows }
        let frame = MapRequest(batch: "hog", cellCount: rows.count, dimensions: data.model.dimension,
                               values: data.query.selectingRows(rows).values).encodedFrame(requestID: 1)
        let hog = try RawSocket(path: server.socketPath)
        let total = 3000
        let sent = LoadResults(clients: 1)
        let writer = Thread {
            for _ in 0..<total where !sent.isFinished {
                hog.write(frame)
                sent.record(client: 0, version: 1)
            }
        }
        writer.start()
        Thread.sleep(forTimeInterval: 2)
        let stalled = sent.versions[0].count
        // Replies (~48 KB each) pile up to the 32 MiB limit, then the server stops reading and the writer blocks.
        XCTAssertLessThan(stalled, total / 2, "the server kept reading a peer that reads nothing")
        XCTAssertGreaterThan(stalled, 100)
        let bystander = try server.client()
        XCTAssertEqual(try bystander.info().dimensions, data.model.dimension)
        let stats = try bystander.stats()
        XCTAssertLessThanOrEqual(stats.cellsMapped, UInt64(stalled * rows.count))
        sent.finish()
        XCTAssertTrue(server.stop(within: 10), "the shutdown grace period closes the stuck peer")
    }
}
