import XCTest
@testable import HarmonyServer

final class WriteAheadLogTests: XCTestCase {
    private func record(_ sequence: UInt64, n: Int = 3, d: Int = 4, ids: Bool = true) -> WALRecord {
        let cells = (0..<(n * d)).map { Float(sequence) + Float($0) * 0.25 }
        return WALRecord(sequence: sequence, batch: "batch-\(sequence % 3)",
                         ids: ids ? (0..<n).map { "cell\(sequence)_\($0)" } : [], count: n, dims: d, cells: cells)
    }

    func testAppendsAreDurableInOrderAndGroupCommitted() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/wal.log"
        let loop = try EventLoop()
        var acknowledged: [UInt64] = []
        do {
            let wal = try WriteAheadLog(path: path, loop: loop, validBytes: 0)
            for s in 1...200 {
                wal.append(record(UInt64(s))) { error in
                    XCTAssertNil(error)
                    acknowledged.append(UInt64(s))
                }
            }
            loop.run()
            XCTAssertEqual(acknowledged, (1...200).map(UInt64.init))
            XCTAssertEqual(wal.recordsWritten, 200)
            // The first record starts a write alone; all the others wait for it and share the next sync.
            XCTAssertEqual(wal.syncCount, 2)
        }
        loop.close()
        let recovered = try WALRecovery.read(path: path)
        XCTAssertEqual(recovered.records, (1...200).map { record(UInt64($0)) })
        XCTAssertEqual(recovered.discardedBytes, 0)
        XCTAssertNil(recovered.discardReason)
    }

    func testReopeningCutsATornTailAndAppendsAfterTheLastGoodRecord() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/wal.log"
        var bytes = WriteAheadLog.fileMagic
        record(1).encode(into: &bytes)
        record(2).encode(into: &bytes)
        let torn = Array(bytes[0..<(bytes.count - 5)])
        try StateFiles.writeAtomically(torn, to: path)
        let recovered = try WALRecovery.read(path: path)
        XCTAssertEqual(recovered.records, [record(1)])
        XCTAssertGreaterThan(recovered.discardedBytes, 0)
        let loop = try EventLoop()
        do {
            let wal = try WriteAheadLog(path: path, loop: loop, validBytes: recovered.validBytes)
            var done = false
            wal.append(record(3)) { XCTAssertNil($0); done = true }
            loop.run()
            XCTAssertTrue(done)
        }
        loop.close()
        XCTAssertEqual(try WALRecovery.read(path: path).records, [record(1), record(3)])
    }
}
