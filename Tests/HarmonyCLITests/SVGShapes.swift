import Foundation

/// Reads the axis-aligned rectangles out of an SVG written by cairo, to count a figure's panels (stroked
/// frames) and legend entries (filled squares of the swatch size) without trusting the drawing code.
struct SVGShapes {
    /// A rectangle path: its size and whether it was stroked without fill.
    struct Rectangle {
        var width: Double
        var height: Double
        var strokedOnly: Bool
    }

    let rectangles: [Rectangle]
    /// The root element's width and height attributes.
    let width: Double, height: Double

    init(_ svg: String) {
        func attribute(_ name: String, in element: String) -> String? {
            guard let start = element.range(of: " \(name)=\"") else { return nil }
            let rest = element[start.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
        let root = svg.range(of: "<svg").map { String(svg[$0.lowerBound...].prefix(400)) } ?? ""
        width = Double(attribute("width", in: root)?.replacingOccurrences(of: "pt", with: "") ?? "") ?? 0
        height = Double(attribute("height", in: root)?.replacingOccurrences(of: "pt", with: "") ?? "") ?? 0
        var found: [Rectangle] = []
        var search = svg.startIndex
        while let open = svg.range(of: "<path ", range: search..<svg.endIndex),
              let close = svg.range(of: "/>", range: open.upperBound..<svg.endIndex) {
            let element = String(svg[open.lowerBound..<close.upperBound])
            search = close.upperBound
            guard let d = attribute("d", in: element), let style = attribute("style", in: element),
                  let box = Self.rectangle(d) else { continue }
            found.append(Rectangle(width: box.0, height: box.1, strokedOnly: style.contains("fill:none")))
        }
        rectangles = found
    }

    /// Width and height when `d` is "M x0 y0 L x1 y0 L x1 y1 L x0 y1 Z" (optionally followed by "M x0 y0").
    static func rectangle(_ d: String) -> (Double, Double)? {
        let tokens = d.split(separator: " ")
        guard tokens.count == 13 || tokens.count == 16, tokens[0] == "M", tokens[3] == "L", tokens[6] == "L",
              tokens[9] == "L", tokens[12] == "Z" else { return nil }
        let v = [1, 2, 4, 5, 7, 8, 10, 11].compactMap { Double(tokens[$0]) }
        guard v.count == 8 else { return nil }
        let xs = [v[0], v[2], v[4], v[6]], ys = [v[1], v[3], v[5], v[7]]
        // Axis-aligned: two distinct x and two distinct y values, each used twice.
        guard Set(xs).count <= 2, Set(ys).count <= 2 else { return nil }
        return ((xs.max()! - xs.min()!), (ys.max()! - ys.min()!))
    }

    /// Stroked frames at least `minimum` points wide and high (panel frames; excludes tick marks).
    func frames(minimum: Double = 40) -> Int {
        rectangles.filter { $0.strokedOnly && $0.width >= minimum && $0.height >= minimum }.count
    }

    /// Filled squares of side `side` (legend swatches).
    func squares(side: Double) -> Int {
        rectangles.filter { !$0.strokedOnly && abs($0.width - side) < 1e-6 && abs($0.height - side) < 1e-6 }.count
    }

    /// Width and height of a PNG from its IHDR chunk, or nil when `bytes` is not a PNG.
    static func pngSize(_ bytes: [UInt8]) -> (Int, Int)? {
        guard bytes.count > 24, bytes.prefix(8) == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
              bytes[12..<16] == Array("IHDR".utf8)[...] else { return nil }
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }
}
