import XCTest
@testable import HarmonyServer

final class WALRecoveryTests: XCTestCase {
    private func log(_ records: [WALRecord]) -> [UInt8] {
        var bytes = WriteAheadLog.fileMagic
        for r in records { r.encode(into: &bytes) }
        return bytes
    }

    private let records = (1...4).map { s in
        WALRecord(sequence: UInt64(s), batch: "q\(s)", ids: ["a\(s)", "b\(s)"], count: 2, dims: 3,
                  cells: (0..<6).map { Float(s * 10 + $0) })
    }

    func testEveryTruncationKeepsTheCompleteRecordsBeforeIt() throws {
        let full = log(records)
        var ends: [Int] = [WriteAheadLog.fileMagic.count]
        var partial = WriteAheadLog.fileMagic
        for r in records { r.encode(into: &partial); ends.append(partial.count) }
        for cut in WriteAheadLog.fileMagic.count...full.count {
            let recovered = try WALRecovery.parse(Array(full[0..<cut]), path: "wal")
            let complete = ends.filter { $0 <= cut }.count - 1
            XCTAssertEqual(recovered.records, Array(records[0..<complete]), "cut at \(cut)")
            XCTAssertEqual(recovered.validBytes, ends[complete])
            XCTAssertEqual(recovered.discardedBytes, cut - ends[complete])
            XCTAssertEqual(recovered.discardReason == nil, cut == ends[complete])
        }
    }

    func testCorruptLastRecordIsDiscardedAndReported() throws {
        var bytes = log(records)
        bytes[bytes.count - 2] ^= 0x40
        let recovered = try WALRecovery.parse(bytes, path: "wal")
        XCTAssertEqual(recovered.records, Array(records[0..<3]))
        XCTAssertEqual(recovered.discardReason, "the last record fails its checksum")
    }

    func testCorruptionBeforeFurtherRecordsIsRefused() {
        var bytes = log(records)
        bytes[WriteAheadLog.fileMagic.count + 12] ^= 0x01
        XCTAssertThrowsError(try WALRecovery.parse(bytes, path: "wal")) { error in
            XCTAssertTrue("\(error)".contains("corrupt at byte 8"), "\(error)")
        }
    }

    func testWrongMagicIsRefused() {
        var bytes = log(records)
        bytes[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try WALRecovery.parse(bytes, path: "wal"))
    }

    func testRecordWithoutIdsRoundTrips() throws {
        let r = WALRecord(sequence: 9, batch: "", ids: [], count: 2, dims: 2, cells: [1, -2, .pi, 0])
        XCTAssertEqual(try WALRecovery.parse(log([r]), path: "wal").records, [r])
    }
}
