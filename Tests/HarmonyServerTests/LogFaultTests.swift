import Foundation
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import Synchronization
import XCTest
@testable import HarmonyServer

/// A switch the injected log I/O reads from pool threads.
final class FaultSwitch: Sendable {
    private let errnoValue = Mutex<Int32>(0)

    /// The errno the next writes fail with (0: they succeed).
    var failing: Int32 {
        get { errnoValue.withLock { $0 } }
        set { errnoValue.withLock { $0 = newValue } }
    }

    /// Log I/O whose pwrite fails with `failing` while it is set.
    var io: LogFileIO {
        LogFileIO(pwrite: { [self] fd, bytes, offset in
            let code = failing
            if code != 0 {
                errno = code
                return -1
            }
            return LogFileIO.system.pwrite(fd, bytes, offset)
        }, fdatasync: LogFileIO.system.fdatasync)
    }
}

/// The write-ahead log under injected faults: failed writes, a full disk, unreadable and damaged files.
final class LogFaultTests: XCTestCase {
    private func record(_ sequence: UInt64) -> WALRecord {
        WALRecord(sequence: sequence, batch: "b", ids: ["c\(sequence)"], count: 1, dims: 2,
                  cells: [Float(sequence), 0.5])
    }

    func testAFullDiskFailsTheAppendAndTheNextWriteReusesItsPlace() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/wal.log"
        let faults = FaultSwitch()
        let loop = try EventLoop()
        var outcomes: [String] = []
        do {
            let wal = try WriteAheadLog(path: path, loop: loop, validBytes: 0, io: faults.io)
            wal.append(record(1)) { outcomes.append($0 == nil ? "ok" : "fail") }
            loop.run()
            faults.failing = ENOSPC
            wal.append(record(2)) { error in
                outcomes.append(error == nil ? "ok" : "fail")
                XCTAssertTrue("\(error!)".contains(String(cString: strerror(ENOSPC))), "\(error!)")
            }
            loop.run()
            faults.failing = 0
            wal.append(record(3)) { outcomes.append($0 == nil ? "ok" : "fail") }
            loop.run()
        }
        loop.close()
        XCTAssertEqual(outcomes, ["ok", "fail", "ok"])
        XCTAssertEqual(try WALRecovery.read(path: path).records, [record(1), record(3)])
    }

    func testAnUnreadableLogStopsTheStartInsteadOfBeingTreatedAsEmpty() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/wal.log"
        var bytes = WriteAheadLog.fileMagic
        bytes.append(record(1))
        try StateFiles.writeAtomically(bytes, to: path)
        // EIO from the disk, injected.
        XCTAssertThrowsError(try WALRecovery.read(path: path, readFile: { _ in
            throw ServerError.io("cannot read \(path): \(String(cString: strerror(EIO)))")
        })) { error in
            XCTAssertTrue("\(error)".contains("cannot be read"), "\(error)")
        }
        XCTAssertEqual(try StateFiles.read(path), bytes, "the log is left as it was")
        // Only a missing file is an empty log.
        XCTAssertEqual(try WALRecovery.read(path: directory.path + "/absent.log").records, [])
        // A log that is a directory cannot be read either (EISDIR), and the server refuses to start on it.
        let state = directory.path + "/state"
        XCTAssertEqual(mkdir(state, 0o700), 0)
        XCTAssertEqual(mkdir(state + "/wal.log", 0o700), 0)
        var configuration = ServerConfiguration(referencePath: nil, socketPath: directory.path + "/h.sock",
                                                stateDirectory: state)
        configuration.quiet = true
        configuration.handleSignals = false
        XCTAssertThrowsError(try HarmonyServer(configuration: configuration, model: try TestModels.make().model)) {
            XCTAssertTrue("\($0)".contains("write-ahead log cannot be read"), "\($0)")
        }
        XCTAssertFalse(StateFiles.exists(directory.path + "/h.sock"))
        XCTAssertFalse(StateFiles.exists(state + "/LOCK"), "a failed start leaves no lock file behind")
    }

    func testAZeroedHeaderBeforeValidRecordsIsCorruptionNotATornTail() throws {
        let path = "/nonexistent/wal.log"
        var bytes = WriteAheadLog.fileMagic
        var starts: [Int] = []
        for s in 1...10 {
            starts.append(bytes.count)
            bytes.append(record(UInt64(s)))
        }
        bytes += [UInt8](repeating: 0, count: 4096)
        XCTAssertEqual(try WALRecovery.parse(bytes, path: path).records.count, 10)
        var damaged = bytes
        for i in starts[4]..<(starts[4] + 16) { damaged[i] = 0 }
        XCTAssertThrowsError(try WALRecovery.parse(damaged, path: path)) { error in
            XCTAssertTrue("\(error)".contains("corrupt at byte \(starts[4])"), "\(error)")
        }
        // Zeros from the last record on, with stray bytes after them that are no record: a torn last write.
        var torn = bytes
        for i in starts[9]..<(starts[9] + 8) { torn[i] = 0 }
        let recovered = try WALRecovery.parse(torn, path: path)
        XCTAssertEqual(recovered.records.count, 9)
        XCTAssertNotNil(recovered.discardReason)
    }

    /// Nothing of a MAP whose record could not be written is visible or kept, and the server goes on.
    func testAFailedLogWriteChangesNothing() throws {
        let data = try TestModels.make()
        let directory = try TemporaryDirectory()
        let faults = FaultSwitch()
        let rows = data.query.selectingRows(0..<6)
        do {
            let server = try RunningServer(model: data.model, directory: directory) { $0.logFileIO = faults.io }
            let client = try server.client()
            _ = try client.map(batch: "q", ids: ["a", "b"], cells: rows.selectingRows(0..<2))
            faults.failing = ENOSPC
            XCTAssertThrowsError(try client.map(batch: "q", ids: ["c", "d"], cells: rows.selectingRows(2..<4))) {
                XCTAssertEqual(($0 as? ClientError)?.serverCode, .internal, "\($0)")
            }
            XCTAssertThrowsError(try client.map(batch: "new", cells: rows.selectingRows(4..<6)))
            var stats = try client.stats()
            XCTAssertEqual(stats.cellsMapped, 2)
            XCTAssertEqual(stats.cellsPendingRefit, 2)
            XCTAssertEqual(stats.batches, [BatchCount(batch: "q", cells: 2)])
            XCTAssertEqual(try client.export(batch: "q").cellIDs, ["a", "b"])
            XCTAssertThrowsError(try client.export(batch: "new")) {
                XCTAssertEqual(($0 as? ClientError)?.serverCode, .unknownBatch, "\($0)")
            }
            // The same cells once the disk has room again: accepted now, as new cells.
            faults.failing = 0
            let reply = try client.map(batch: "q", ids: ["c", "d"], cells: rows.selectingRows(2..<4))
            XCTAssertEqual(reply.cellCount, 2)
            stats = try client.stats()
            XCTAssertEqual(stats.batches, [BatchCount(batch: "q", cells: 4)])
            XCTAssertTrue(server.stop())
        }
        let server = try RunningServer(model: data.model, directory: directory)
        let client = try server.client()
        XCTAssertEqual(try client.export(batch: "q").cellIDs, ["a", "b", "c", "d"])
        XCTAssertEqual(try client.stats().cellsMapped, 4)
        XCTAssertTrue(server.stop())
    }
}
