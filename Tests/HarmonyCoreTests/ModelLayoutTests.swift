import XCTest
@testable import HarmonyCore

/// The LAYOUT section (format 3): round trip, the format versions written, what readers refuse, and placement
/// from a model's stored layout.
final class ModelLayoutTests: XCTestCase {
    static func layoutModel(cells n: Int = 20) throws -> ReferenceModel {
        var p = UMAPParameters()
        (p.neighbors, p.minDist, p.spread, p.epochs, p.seed) = (5, 0.25, 1.5, 40, 9)
        return try ModelFileTests.smallModel(cells: n).addingLayout(parameters: p)
    }

    func testRoundTripKeepsTheLayoutAndWritesFormatThree() throws {
        let model = try Self.layoutModel()
        let layout = try XCTUnwrap(model.layout)
        XCTAssertEqual(layout.positions.rows, 20)
        XCTAssertEqual(layout.parameters.epochs, 40)
        // The stored positions are the UMAP layout of the reference cells' corrected embedding.
        let cells = try XCTUnwrap(model.cells)
        XCTAssertEqual(layout.positions.values,
                       try UMAP.layout(cells.corrected.converted(to: Double.self), parameters: layout.parameters).values)
        let bytes = ModelFile.encode(model)
        XCTAssertEqual(try ModelFile.formatVersion(bytes, source: "m"), 3)
        XCTAssertEqual(try ModelFile.sections(bytes, source: "m").last?.name, "LAYOUT")
        let back = try ModelFile.decode(bytes, source: "m.hmod")
        XCTAssertEqual(back, model)
        XCTAssertEqual(back.layout, layout)
    }

    func testModelsWithoutALayoutStayFormatTwo() throws {
        let model = try ModelFileTests.smallModel()
        let bytes = ModelFile.encode(model)
        XCTAssertEqual(try ModelFile.formatVersion(bytes, source: "m"), 2)
        XCTAssertNil(try ModelFile.decode(bytes, source: "m").layout)
        // Dropping a layout gives back the format-2 bytes.
        XCTAssertEqual(ModelFile.encode(try Self.layoutModel(cells: 6).replacingLayout(nil)), bytes)
    }

    func testFormatTwoHeaderWithTheLayoutFlagIsRefused() throws {
        var bytes = ModelFile.encode(try Self.layoutModel())
        bytes[8] = 2
        let tableEnd = ModelFile.fixedHeaderSize + ModelFile.tableEntrySize * Int(bytes[32])
        let header = CRC32.checksum(Array(bytes[0..<tableEnd]))
        withUnsafeBytes(of: header.littleEndian) { for (i, b) in $0.enumerated() { bytes[tableEnd + i] = b } }
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "m.hmod")) { error in
            XCTAssertTrue("\(error)".contains("unknown header flags"), "\(error)")
        }
    }

    func testEveryByteOfTheLayoutSectionIsChecked() throws {
        let bytes = ModelFile.encode(try Self.layoutModel())
        let section = try XCTUnwrap(try ModelFile.sections(bytes, source: "m").last)
        for offset in stride(from: section.offset, to: section.offset + section.length, by: 7) {
            var bad = bytes
            bad[offset] ^= 0x10
            XCTAssertThrowsError(try ModelFile.decode(bad, source: "m.hmod"), "byte \(offset)")
        }
    }

    func testALayoutNeedsTheCellsItPlaces() throws {
        let positions = Matrix<Float>(rows: 6, cols: 2, values: (0..<12).map(Float.init))
        let layout = try ReferenceLayout(positions: positions, parameters: UMAPParameters())
        XCTAssertThrowsError(try ModelFileTests.smallModel(compact: true).replacingLayout(layout))
        XCTAssertThrowsError(try ModelFileTests.smallModel(cells: 7).replacingLayout(layout))
        XCTAssertThrowsError(try ModelFileTests.smallModel(compact: true).addingLayout(parameters: UMAPParameters()))
        XCTAssertThrowsError(try ModelFileTests.smallModel().placeOnLayout(Matrix(rows: 1, cols: 2)))
    }

    /// Placing on the stored layout is `LayoutPlacement.place` on the same positions, embedding and settings.
    func testPlacementFromTheStoredLayout() throws {
        let model = try ModelFile.decode(ModelFile.encode(try Self.layoutModel()), source: "m")
        let layout = try XCTUnwrap(model.layout), cells = try XCTUnwrap(model.cells)
        let queries = Matrix<Float>(rows: 4, cols: 2, values: [0.1, 0.2, -0.5, 0.3, 1, -1, 0, 0])
        let expected = try LayoutPlacement.place(queries, on: layout.positions, of: cells.corrected, parameters: layout.parameters)
        XCTAssertEqual(try model.placeOnLayout(queries, threads: 1).values, expected.values)
        XCTAssertThrowsError(try model.placeOnLayout(Matrix(rows: 1, cols: 3)))
    }
}
