import XCTest
@testable import HarmonyCore

/// `.npy` reading and writing: round trips, Fortran order, big-endian, sidecar ids and refusals.
final class NumpyFileTests: XCTestCase {
    private var dir: IOTestDirectory!
    override func setUpWithError() throws { dir = try IOTestDirectory() }
    override func tearDown() { dir.remove() }

    /// A version 1.0 header for `dict`, padded as numpy does.
    private func npy(_ dict: String, payload: [UInt8]) -> [UInt8] {
        var header = dict
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + payload
    }

    private func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    func testFloat32AndFloat64RoundTripWithSidecarIds() throws {
        let m = Matrix<Float>(rows: 2, cols: 3, values: [1, -2.5, 3e-8, 4, 5, .pi])
        try MatrixWriter.write(m, ids: ["x", "y"], columnNames: ["a", "b", "c"], to: dir.path("m.npy"))
        XCTAssertEqual(dir.listing(), ["m.ids.txt", "m.npy"])
        let e = try Embedding.read(dir.path("m.npy"))
        XCTAssertEqual(e.ids, ["x", "y"])
        XCTAssertEqual(e.floatValues, m)
        let d = Matrix<Double>(rows: 1, cols: 2, values: [0.1, 1e-300])
        try MatrixWriter.write(d, ids: ["only"], columnNames: ["a", "b"], to: dir.path("d.npy"))
        XCTAssertEqual(try NumpyFile.readMatrix(dir.path("d.npy")), d)
        // numpy's own check: the data starts at a multiple of 64 bytes.
        let encoded = NumpyFile.encode(d)
        XCTAssertEqual((encoded.count - 16) % 64, 0)
    }

    func testWithoutSidecarIdsAreRowNumbers() throws {
        try dir.write("p.npy", bytes: npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", payload: bytes([1.0, 2.0])))
        XCTAssertEqual(try Embedding.read(dir.path("p.npy")).ids, ["0", "1"])
    }

    func testFortranOrderIsTransposedAndBigEndianSwapped() throws {
        // Column-major 2 x 3: columns (1, 4), (2, 5), (3, 6).
        try dir.write("f.npy", bytes: npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                          payload: bytes([Float(1), 4, 2, 5, 3, 6])))
        XCTAssertEqual(try NumpyFile.readMatrix(dir.path("f.npy")).values, [1, 2, 3, 4, 5, 6])
        let be = [1.5, -2.0].map { $0.bitPattern.byteSwapped }
        try dir.write("b.npy", bytes: npy("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }", payload: bytes(be)))
        XCTAssertEqual(try NumpyFile.readMatrix(dir.path("b.npy")).values, [1.5, -2.0])
    }

    func testRefusals() throws {
        let cases: [(String, [UInt8], String)] = [
            ("i.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }", payload: bytes([Int64(1)])), "'<i8'"),
            ("v.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", payload: bytes([1.0, 2, 3])), "2-D"),
            ("t.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: bytes([1.0])), "needs 32"),
            ("x.npy", Array("not numpy".utf8), "magic"),
            ("n.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", payload: bytes([1.0, .nan])),
             "row 0, column 1: non-finite"),
        ]
        for (name, content, fragment) in cases {
            try dir.write(name, bytes: content)
            XCTAssertThrowsError(try Embedding.read(dir.path(name)), name) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(name): \(error)")
            }
        }
        try dir.write("s.npy", bytes: npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", payload: bytes([1.0, 2])))
        try dir.write("s.ids.txt", "a\na\n")
        XCTAssertThrowsError(try Embedding.read(dir.path("s.npy"))) { XCTAssertTrue("\($0)".contains("s.ids.txt, line 2: duplicate")) }
        try dir.write("s.ids.txt", "a\n")
        XCTAssertThrowsError(try Embedding.read(dir.path("s.npy"))) { XCTAssertTrue("\($0)".contains("1 cell ids")) }
    }
}
