import XCTest
@testable import HarmonyProtocol

final class ByteWriterTests: XCTestCase {
    func testIntegersAndFloatsAreLittleEndian() {
        var w = ByteWriter()
        w.writeUInt16(0x0102)
        w.writeUInt32(0x0304_0506)
        w.writeUInt64(0x0708_090A_0B0C_0D0E)
        w.writeInt32(-2)
        w.writeFloat32(1.0)
        XCTAssertEqual(w.bytes, [0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07,
                                 0xFE, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0x3F])
    }

    func testBulkArraysEqualElementWiseWrites() {
        let floats: [Float] = [1.5, -0.0, .leastNonzeroMagnitude, 3.25e7]
        var bulk = ByteWriter()
        bulk.writeFloat32Array(floats)
        bulk.writeInt32Array([-1, 7])
        bulk.writeUInt32Array([.max, 0])
        var single = ByteWriter()
        floats.forEach { single.writeFloat32($0) }
        single.writeInt32(-1)
        single.writeInt32(7)
        single.writeUInt32(.max)
        single.writeUInt32(0)
        XCTAssertEqual(bulk.bytes, single.bytes)
    }

    func testStringsArePrefixedByTheirUTF8Length() {
        var w = ByteWriter()
        w.writeShortString("é")
        w.writeLongString("ab")
        XCTAssertEqual(w.bytes, [2, 0, 0xC3, 0xA9, 2, 0, 0, 0, 0x61, 0x62])
    }

    func testPatchAndTake() {
        var w = ByteWriter(capacity: 8)
        w.writeUInt32(0)
        w.writeUInt8(9)
        w.patchUInt32(0xAABB_CCDD, at: 0)
        XCTAssertEqual(w.take(), [0xDD, 0xCC, 0xBB, 0xAA, 9])
        XCTAssertEqual(w.count, 0)
    }
}
