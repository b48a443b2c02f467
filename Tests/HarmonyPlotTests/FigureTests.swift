import CCairo
import Foundation
import XCTest
@testable import HarmonyPlot

/// Figures checked as images: PNG decoded by cairo's own reader (size, not blank, the category colours
/// present), PDF and SVG signatures, unknown extensions refused.
final class FigureTests: XCTestCase {
    private func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("harmony-plot-\(getpid())-\(name)").path
    }

    /// Three well-separated clusters of 200 points, one category each, plus a line panel.
    private func sampleFigure() -> Figure {
        var x: [Float] = [], y: [Float] = [], codes: [Int32] = []
        for c in 0..<3 {
            for i in 0..<200 {
                let angle = Double(i) * 0.1
                x.append(Float(Double(c) * 10 + cos(angle) * Double(i % 17) * 0.2))
                y.append(Float(Double(c % 2) * 6 + sin(angle) * Double(i % 13) * 0.2))
                codes.append(Int32(c))
            }
        }
        let scatter = Panel.categoricalScatter(title: "clusters", x: x, y: y, levels: ["a", "b", "c"], codes: codes)
        let line = Panel(title: "line", xLabel: "x", yLabel: "y",
                         marks: [.line(x: [0, 1, 2, 3], y: [4, 2, 1.5, 1.4], color: .category(3), width: 1.5, dots: true)])
        return Figure(title: "test", panels: [scatter, line])
    }

    func testPNGDecodesAtFigureSizeWithInkAndCategoryColours() throws {
        let figure = sampleFigure()
        let path = scratch("a.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try figure.write(to: path)
        guard let surface = cairo_image_surface_create_from_png(path) else { return XCTFail("no surface") }
        defer { cairo_surface_destroy(surface) }
        XCTAssertEqual(cairo_surface_status(surface), CAIRO_STATUS_SUCCESS)
        let width = Int(cairo_image_surface_get_width(surface)), height = Int(cairo_image_surface_get_height(surface))
        XCTAssertEqual(width, figure.width)
        XCTAssertEqual(height, figure.height)
        XCTAssertEqual(width, 880)
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else { return XCTFail("no pixels") }
        var nonWhite = 0
        var colours = Set<UInt32>()
        for row in 0..<height {
            let pixels = UnsafeRawPointer(data + row * stride).assumingMemoryBound(to: UInt32.self)
            for col in 0..<width {
                let p = pixels[col] & 0x00ff_ffff
                if p != 0x00ff_ffff { nonWhite += 1 }
                colours.insert(p)
            }
        }
        let inked = Double(nonWhite) / Double(width * height)
        print("PNG \(width) x \(height): \(inked) of the pixels inked, \(colours.count) colours")
        XCTAssertGreaterThan(inked, 0.01, "the image is (nearly) blank")
        XCTAssertLessThan(inked, 0.5, "the image is mostly ink")
        for c in 0..<4 {
            let colour = Color.category(c)
            let rgb = UInt32((colour.red * 255).rounded()) << 16 | UInt32((colour.green * 255).rounded()) << 8
                | UInt32((colour.blue * 255).rounded())
            XCTAssertTrue(colours.contains(rgb), "category colour \(c) is not drawn")
        }
    }

    func testVectorFormatsBySignature() throws {
        let figure = sampleFigure()
        let pdf = try figure.encoded(as: .pdf)
        XCTAssertEqual(Array(pdf.prefix(5)), Array("%PDF-".utf8))
        let svg = String(decoding: try figure.encoded(as: .svg), as: UTF8.self)
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertTrue(svg.contains("width=\"880\""), String(svg.prefix(300)))
        XCTAssertTrue(svg.contains("</svg>"))
    }

    func testFormatFromExtension() throws {
        XCTAssertEqual(try ImageFormat(path: "a/b.PNG"), .png)
        XCTAssertEqual(try ImageFormat(path: "x.svg"), .svg)
        XCTAssertEqual(try ImageFormat(path: "x.pdf"), .pdf)
        XCTAssertThrowsError(try ImageFormat(path: "x.jpg"))
        XCTAssertThrowsError(try ImageFormat(path: "png"))
        let path = scratch("bad.gif")
        XCTAssertThrowsError(try sampleFigure().write(to: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testNiceTicks() {
        XCTAssertEqual(AxisTicks.positions(low: 0, high: 1), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        XCTAssertEqual(AxisTicks.positions(low: -3.2, high: 12.5), [0, 5, 10])
        XCTAssertEqual(AxisTicks.positions(low: 1210, high: 1290), [1220, 1240, 1260, 1280])
        XCTAssertEqual(AxisTicks.label(0.30000000000000004), "0.3")
        XCTAssertEqual(AxisTicks.label(2000), "2000")
        XCTAssertEqual(AxisTicks.label(1.5e-5), "1.50e-05")
    }

    func testKernelDensityQuartilesAndPeak() {
        let values = (0..<1001).map { Double($0) / 1000 }
        let density = KernelDensity(values: values)
        XCTAssertEqual(density.quartiles.0, 0.25, accuracy: 1e-12)
        XCTAssertEqual(density.quartiles.1, 0.5, accuracy: 1e-12)
        XCTAssertEqual(density.quartiles.2, 0.75, accuracy: 1e-12)
        // A uniform sample: the density is flat in the middle and half as high at the ends.
        let middle = density.densities[32], end = density.densities[0]
        XCTAssertEqual(end / middle, 0.5, accuracy: 0.05)
    }
}
