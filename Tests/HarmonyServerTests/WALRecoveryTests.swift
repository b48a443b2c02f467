import XCTest
@testable import HarmonyServer

final class WALRecoveryTests: XCTestCase {
    private func log(_ records: [WALRecord]) -> [UInt8] {
        var bytes = WriteAheadLog.fileMagic
        for r in records { bytes.append(r) }
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
        for r in records { partial.append(r); ends.append(partial.count) }
        for cut in WriteAheadLog.fileMagic.count...full.count {
            let recovered = try WALRecovery.parse(Array(full[0..<cut]), path: "wal")
            let complete = ends.filter { $0 <= cut }.count - 1
            XCTAssertEqual(recovered.records, Array(records[0..<complete]), "cut at \(cut)")
            XCTAssertEqual(recovered.validBytes, ends[complete])
            // Trailing zeros of a cut record read as preallocated space: only bytes up to the last non-zero
            // one count as discarded.
            let lastNonZero = full[0..<cut].lastIndex(where: { $0 != 0 })! + 1
            let discarded = max(0, lastNonZero - ends[complete])
            XCTAssertEqual(recovered.discardedBytes, discarded, "cut at \(cut)")
            XCTAssertEqual(recovered.discardReason == nil, discarded == 0, "cut at \(cut)")
        }
    }

    func testPreallocatedZerosAfterTheRecordsAreACleanEnd() throws {
        let bytes = log(records) + [UInt8](repeating: 0, count: 4096)
        let recovered = try WALRecovery.parse(bytes, path: "wal")
        XCTAssertEqual(recovered.records, records)
        XCTAssertEqual(recovered.validBytes, log(records).count)
        XCTAssertEqual(recovered.discardedBytes, 0)
        XCTAssertNil(recovered.discardReason)
    }

    func testTornLastRecordBeforeZerosIsDiscardedAndReported() throws {
        var bytes = log(records)
        let end = bytes.count
        // The last record's body landed only in part: its tail is still preallocated zeros.
        for i in (end - 10)..<end { bytes[i] = 0 }
        bytes += [UInt8](repeating: 0, count: 4096)
        let recovered = try WALRecovery.parse(bytes, path: "wal")
        XCTAssertEqual(recovered.records, Array(records[0..<3]))
        XCTAssertEqual(recovered.discardReason, "the last record fails its checksum")
        XCTAssertGreaterThan(recovered.discardedBytes, 0)
    }

    func testZeroHeaderEndsTheLogAndLaterBytesAreATornWrite() throws {
        var bytes = log(Array(records[0..<3]))
        let validEnd = bytes.count
        var last: [UInt8] = []
        last.append(records[3])
        // The last write's first sector (its header) never landed; part of its body did.
        for i in 0..<8 { last[i] = 0 }
        bytes += last + [UInt8](repeating: 0, count: 512)
        let recovered = try WALRecovery.parse(bytes, path: "wal")
        XCTAssertEqual(recovered.records, Array(records[0..<3]))
        XCTAssertEqual(recovered.validBytes, validEnd)
        XCTAssertEqual(recovered.discardReason, "bytes after the end of the log (a torn last write)")
    }

    func testCorruptionBeforeFurtherRecordsIsRefusedDespiteZeroTail() {
        var bytes = log(records) + [UInt8](repeating: 0, count: 4096)
        bytes[WriteAheadLog.fileMagic.count + 12] ^= 0x01
        XCTAssertThrowsError(try WALRecovery.parse(bytes, path: "wal"))
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
