import HarmonyCore

extension Panel {
    /// A 2-D view of cells coloured by category, with one legend entry per level and no numeric ticks.
    /// Points are drawn in a seeded random order so that no category hides the others behind it.
    /// - Parameters:
    ///   - x: first coordinate per cell; `y` the second.
    ///   - levels: category names; `codes[i]` is cell i's level.
    ///   - background: cells drawn first in grey and left out of the legend (e.g. a reference behind mapped
    ///     cells), or nil.
    public static func categoricalScatter(title: String, x: [Float], y: [Float], levels: [String], codes: [Int32],
                                          background: (x: [Float], y: [Float])? = nil, seed: UInt64 = 0) -> Panel {
        var generator = SeededGenerator(seed: seed)
        var order = [Int32](repeating: 0, count: x.count)
        order.withUnsafeMutableBufferPointer { generator.permutation(into: $0) }
        let colors = levels.indices.map { Color.category($0) }
        var marks: [Mark] = []
        let total = x.count + (background?.x.count ?? 0)
        if let background {
            marks.append(.scatter(x: background.x, y: background.y, categories: [Int32](repeating: 0, count: background.x.count),
                                  colors: [.context], radius: pointRadius(cells: total), order: []))
        }
        marks.append(.scatter(x: x, y: y, categories: codes, colors: colors, radius: pointRadius(cells: total), order: order))
        return Panel(title: title, marks: marks,
                     legend: zip(levels, colors).map { LegendEntry(label: $0, color: $1) }, showsTicks: false)
    }

    /// Disc radius for a scatter of `cells` points: smaller as they get denser, between 0.6 and 3 points.
    public static func pointRadius(cells: Int) -> Double {
        min(3, max(0.6, 90 / Double(max(1, cells)).squareRoot()))
    }
}
