import Foundation
import HarmonyClient
import HarmonyTestSupport
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

    func testBadUsageAndBadInputExitWithStatusTwoAndOneErrorLine() throws {
        let directory = try TemporaryDirectory()
        var result = try run(["--state-dir", directory.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("--socket"), result.stderr)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path, "--socket-mode", "0999"])
        XCTAssertEqual(result.status, 2)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path, "--allow-uid", "root"])
        XCTAssertEqual(result.status, 2)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path + "/state"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.hasPrefix("error: ") && result.stderr.contains("no model"), result.stderr)
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path + "/state2",
                          "--reference", directory.path + "/missing.hmod"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.hasPrefix("error: ") && result.stderr.contains("missing.hmod"), result.stderr)
        // A failed start leaves nothing behind: neither the state directory it created nor a lock or a log.
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/state2"))
        let existing = directory.path + "/existing"
        XCTAssertEqual(mkdir(existing, 0o700), 0)
        result = try run(["--socket", directory.path + "/s", "--state-dir", existing,
                          "--reference", directory.path + "/missing.hmod"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: existing), [])
        // An idle timeout whose nanoseconds overflow 64 bits is refused at start, not one second later.
        result = try run(["--socket", directory.path + "/s", "--state-dir", directory.path + "/state",
                          "--idle-timeout", "20000000000"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.hasPrefix("error: ") && result.stderr.contains("--idle-timeout"), result.stderr)
        // A socket in a directory that does not exist is reported as such.
        result = try run(["--socket", directory.path + "/no/such/dir/h.sock", "--state-dir", directory.path + "/state",
                          "--reference", directory.path + "/missing.hmod"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("does not exist"), result.stderr)
        XCTAssertFalse(result.stderr.contains("EACCES") || result.stderr.contains("permission"), result.stderr)
    }

    func testVersionIsPrinted() throws {
        let process = Process()
        process.executableURL = DaemonProcess.binary
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("harmonyd \(HarmonyServerInfo.version)"), text)
    }

    /// With $NOTIFY_SOCKET set, harmonyd sends READY=1 once its socket accepts connections.
    func testReadinessIsSentToSystemdsNotifySocket() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        try ModelFile.write(data.model, to: directory.path + "/ref.hmod")
        let notifyPath = directory.path + "/notify"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in notifyPath.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        let process = Process()
        process.executableURL = DaemonProcess.binary
        let socketPath = directory.path + "/h.sock"
        process.arguments = ["--reference", directory.path + "/ref.hmod", "--socket", socketPath,
                             "--state-dir", directory.path + "/state", "--quiet"]
        process.environment = ["NOTIFY_SOCKET": notifyPath]
        try process.run()
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&poller, 1, 30_000), 1, "no readiness message within 30 s")
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        let message = String(decoding: buffer[0..<max(n, 0)], as: UTF8.self)
        XCTAssertTrue(message.hasPrefix("READY=1"), message)
        // Ready means connectable: no polling for the socket file.
        let client = try HarmonyClient.connect(socketPath, timeoutSeconds: 10)
        XCTAssertEqual(try client.info().dimensions, data.model.dimension)
        client.close()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    /// `harmony client map` of the same file twice (a pipeline's retry) leaves each batch at the file's count;
    /// `harmony client forget` then drops one batch.
    func testClientMapTwiceKeepsEachCellOnceAndForgetDropsABatch() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        try ModelFile.write(data.model, to: directory.path + "/ref.hmod")
        let rows = Array(0..<120)
        let cells = data.query.selectingRows(rows)
        var embedding = "cell"
        for j in 0..<cells.cols { embedding += "\tPC\(j + 1)" }
        var meta = "cell\tsample\n"
        for (k, row) in rows.enumerated() {
            embedding += "\nc\(row)" + (0..<cells.cols).map { "\t\(cells[k, $0])" }.joined()
            meta += "c\(row)\t\(k < 80 ? "s1" : "s2")\n"
        }
        try (embedding + "\n").write(toFile: directory.path + "/q.tsv", atomically: true, encoding: .utf8)
        try meta.write(toFile: directory.path + "/meta.tsv", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(socket: directory.path + "/h.sock",
                                       arguments: ["--reference", directory.path + "/ref.hmod", "--state-dir",
                                                   directory.path + "/state", "--quiet"])
        let harmony = BuiltBinary.url("harmony")
        func client(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = Process()
            process.executableURL = harmony
            process.arguments = ["client"] + arguments + ["--socket", daemon.socketPath]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, stdout,
                    String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        let map = ["map", directory.path + "/q.tsv", "--meta", directory.path + "/meta.tsv", "--batch-key", "sample",
                   "--chunk-size", "25", "--out", directory.path + "/out.tsv"]
        for _ in 0..<2 {
            let result = try client(map)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        var stats = try daemon.client().stats()
        XCTAssertEqual(stats.batches, [BatchCount(batch: "s1", cells: 80), BatchCount(batch: "s2", cells: 40)])
        XCTAssertEqual(stats.cellsMapped, 120)
        // A transient run changes nothing.
        XCTAssertEqual(try client(map + ["--transient"]).status, 0)
        let forget = try client(["forget", "--batch", "s2"])
        XCTAssertEqual(forget.status, 0, forget.stderr)
        XCTAssertTrue(forget.stdout.contains("\"cells_forgotten\": 40"), forget.stdout)
        stats = try daemon.client().stats()
        XCTAssertEqual(stats.batches, [BatchCount(batch: "s1", cells: 80)])
        // A missing query file is bad input (2), as for `harmony map`.
        let missing = try client(["map", directory.path + "/absent.tsv", "--meta", directory.path + "/meta.tsv",
                                  "--batch-key", "sample", "--out", directory.path + "/x.tsv"])
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertEqual(daemon.stop(), 0)
    }

    /// `harmony client map --batch NAME` needs no metadata, and its final corrections are offline
    /// `harmony map --batch NAME`'s (1e-6 relative).
    func testClientMapWithOneBatchNameMatchesOfflineMap() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        try ModelFile.write(data.model, to: directory.path + "/ref.hmod")
        let cells = data.query.selectingRows(Array(0..<90))
        var embedding = "cell" + (1...cells.cols).map { "\tPC\($0)" }.joined()
        for i in 0..<cells.rows { embedding += "\nc\(i)" + (0..<cells.cols).map { "\t\(cells[i, $0])" }.joined() }
        try (embedding + "\n").write(toFile: directory.path + "/q.tsv", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(socket: directory.path + "/h.sock",
                                       arguments: ["--reference", directory.path + "/ref.hmod", "--state-dir",
                                                   directory.path + "/state", "--quiet"])
        func harmony(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
            let process = Process()
            process.executableURL = BuiltBinary.url("harmony")
            process.arguments = arguments
            let err = Pipe()
            process.standardOutput = Pipe()
            process.standardError = err
            try process.run()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        let online = try harmony(["client", "map", directory.path + "/q.tsv", "--batch", "run42", "--chunk-size", "40",
                                  "--out", directory.path + "/online.tsv", "--socket", daemon.socketPath])
        XCTAssertEqual(online.status, 0, online.stderr)
        XCTAssertEqual(try daemon.client().stats().batches, [BatchCount(batch: "run42", cells: 90)])
        let offline = try harmony(["map", directory.path + "/q.tsv", "--reference", directory.path + "/ref.hmod",
                                   "--batch", "run42", "--out", directory.path + "/offline.tsv", "--quiet"])
        XCTAssertEqual(offline.status, 0, offline.stderr)
        let a = try DelimitedTable.read(directory.path + "/online.tsv"), b = try DelimitedTable.read(directory.path + "/offline.tsv")
        XCTAssertEqual(a.ids, b.ids)
        for (x, y) in zip(try a.numericMatrix().values, try b.numericMatrix().values) {
            XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y)))
        }
        XCTAssertEqual(daemon.stop(), 0)
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
