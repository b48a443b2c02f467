import XCTest
@testable import HarmonyProtocol

final class ByteReaderTests: XCTestCase {
    func testReadsWhatTheWriterWrote() throws {
        var w = ByteWriter()
        w.writeUInt8(7)
        w.writeUInt16(513)
        w.writeUInt32(70_000)
        w.writeUInt64(1 << 40)
        w.writeShortString("batch")
        w.writeLongString("message")
        w.writeFloat32Array([0.5, -2])
        var r = ByteReader(w.take())
        XCTAssertEqual(try r.readUInt8("a"), 7)
        XCTAssertEqual(try r.readUInt16("b"), 513)
        XCTAssertEqual(try r.readUInt32("c"), 70_000)
        XCTAssertEqual(try r.readUInt64("d"), 1 << 40)
        XCTAssertEqual(try r.readShortString("e"), "batch")
        XCTAssertEqual(try r.readLongString("f"), "message")
        XCTAssertEqual(try r.readFiniteFloat32Array(2, "g"), [0.5, -2])
        XCTAssertNoThrow(try r.finish("payload"))
    }

    func testHugeCountsAreRefusedBeforeAllocating() {
        var r = ByteReader([1, 2, 3, 4, 5, 6, 7, 8])
        assertProtocolError(.malformed, try r.readFiniteFloat32Array(Int.max, "x"))
        assertProtocolError(.malformed, try r.readUInt32Array(Int.max / 2, "x"))
        assertProtocolError(.malformed, try r.readShortStrings(1 << 40, "ids"))
        assertProtocolError(.badDimension, try r.readCellValues(cellCount: 1 << 32, dimensions: 1 << 32, "MAP"))
        assertProtocolError(.badDimension, try r.readCellValues(cellCount: 3, dimensions: 1, "MAP"))
        XCTAssertEqual(r.remaining, 8, "failed reads consume nothing")
        XCTAssertEqual(try r.readCellValues(cellCount: 0, dimensions: 0, "MAP"), [])
    }

    func testLongStringLengthBeyondThePayloadIsMalformed() {
        var r = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0x61])
        assertProtocolError(.malformed, try r.readLongString("message"))
    }

    func testOverlongUTF8AndSurrogatesAreRefused() {
        var overlong = ByteReader([2, 0, 0xC0, 0xAF])
        assertProtocolError(.malformed, try overlong.readShortString("id"))
        var surrogate = ByteReader([3, 0, 0xED, 0xA0, 0x80])
        assertProtocolError(.malformed, try surrogate.readShortString("id"))
    }

    func testInfinityIsNonFinite() {
        var w = ByteWriter()
        w.writeFloat32(.infinity)
        var r = ByteReader(w.take())
        assertProtocolError(.nonFinite, try r.readFiniteFloat32("value"))
    }
}
