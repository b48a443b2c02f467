import Foundation
import HarmonyCore
import HarmonyProtocol
import XCTest
@testable import HarmonyServer

/// The `harmonyd` executable: flags, exit statuses, and surviving peers that vanish mid-reply.
final class HarmonyDaemonTests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = DaemonProcess.binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func testBadUsageExitsWithStatusTwoAndAMissingModelWithOne() throws {
        let directory = try TemporaryDirectory()
        var result = try run(["--state-dir", directory.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("--socket"), result.stderr)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path, "--socket-mode", "0999"])
        XCTAssertEqual(result.status, 2)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path, "--allow-uid", "root"])
        XCTAssertEqual(result.status, 2)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path + "/state"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("no model"), result.stderr)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path + "/state2",
                          "--reference", directory.path + "/missing.hmod"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("missing.hmod"), result.stderr)
    }

    func testPeersThatHangUpMidReplyDoNotKillTheDaemon() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        try ModelFile.write(data.model, to: directory.path + "/ref.hmod")
        let daemon = try DaemonProcess(socket: directory.path + "/h.sock",
                                       arguments: ["--reference", directory.path + "/ref.hmod", "--state-dir",
                                                   directory.path + "/state", "--quiet"])
        let rows = (0..<4000).map { $0 % data.query.rows }
        let request = MapRequest(batch: "big", cellCount: rows.count, dimensions: data.model.dimension,
                                 values: data.query.selectingRows(rows).values)
        for i in 0..<5 {
            // Replies of ~600 KB cannot fit the socket buffer; the peer is gone before they are written.
            let socket = try RawSocket(path: daemon.socketPath)
            socket.write(request.encodedFrame(requestID: UInt32(i)) + ExportRequest(batch: "big").encodedFrame(requestID: 99))
        }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertTrue(daemon.process.isRunning)
        let stats = try daemon.client().stats()
        XCTAssertEqual(stats.batches.first?.cells, UInt64(5 * rows.count))
        XCTAssertEqual(daemon.stop(signal: SIGTERM), 0)
        XCTAssertTrue(daemon.log.isEmpty, "--quiet logs nothing: \(daemon.log)")
    }
}
