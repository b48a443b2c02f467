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
        // The records were written into preallocated space: the file extends past them in zeros.
        let size = try StateFiles.read(path).count
        XCTAssertGreaterThanOrEqual(size - recovered.validBytes, WriteAheadLog.preallocationBytes / 2)
    }

    /// Records that outgrow the preallocated region (while idle gaps let it be topped up in between) are all
    /// recovered, in order, and the file always keeps zeros ahead of them.
    func testLogGrowsPastItsPreallocationWithoutLosingRecords() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/wal.log"
        let loop = try EventLoop()
        // About 160 KiB per record: the 1 MiB region is used up and extended several times.
        let big = (1...24).map { record(UInt64($0), n: 1000, d: 40, ids: false) }
        var acknowledged: [UInt64] = []
        do {
            let wal = try WriteAheadLog(path: path, loop: loop, validBytes: 0)
            // One record at a time, except that every third goes in together with the next (one group commit);
            // the next append waits for the previous acknowledgement, leaving the log idle in between.
            func appendFrom(_ i: Int) {
                guard i < big.count else { return }
                let group = i % 3 == 0 ? Array(i..<min(i + 2, big.count)) : [i]
                for index in group {
                    wal.append(big[index]) { error in
                        XCTAssertNil(error)
                        acknowledged.append(big[index].sequence)
                        if index == group.last! { appendFrom(index + 1) }
                    }
                }
            }
            appendFrom(0)
            loop.run()
            XCTAssertFalse(wal.isBusy)
            XCTAssertGreaterThan(wal.allocatedBytes, wal.fileBytes)
        }
        loop.close()
        XCTAssertEqual(acknowledged, (1...24).map(UInt64.init))
        let recovered = try WALRecovery.read(path: path)
        XCTAssertEqual(recovered.records.map(\.sequence), (1...24).map(UInt64.init))
        XCTAssertTrue(recovered.records == big, "recovered records differ from those written")
        XCTAssertNil(recovered.discardReason)
    }

    func testReopeningCutsATornTailAndAppendsAfterTheLastGoodRecord() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/wal.log"
        var bytes = WriteAheadLog.fileMagic
        bytes.append(record(1))
        bytes.append(record(2))
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
