import HarmonyCore

/// A picture: a title and a grid of panels, written as PNG, SVG or PDF by the output's extension.
public struct Figure: Sendable {
    /// Title across the top (empty for none).
    public var title: String
    /// The panels, filled row by row.
    public var panels: [Panel]
    /// Panels per row.
    public var columns: Int
    /// Size of one panel, in points (PNG: pixels).
    public var panelWidth: Double
    /// Height of one panel, in points (PNG: pixels).
    public var panelHeight: Double

    /// A figure; `columns` 0 puts every panel in one row.
    public init(title: String = "", panels: [Panel], columns: Int = 0, panelWidth: Double = 440,
                panelHeight: Double = 360) {
        self.title = title
        self.panels = panels
        self.columns = columns > 0 ? columns : max(1, panels.count)
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
    }

    /// Height of the title band.
    var titleHeight: Double { title.isEmpty ? 0 : 30 }
    /// Panel rows.
    var rows: Int { (panels.count + columns - 1) / columns }
    /// Page width in points (PNG: pixels).
    public var width: Int { Int((Double(min(columns, max(1, panels.count))) * panelWidth).rounded()) }
    /// Page height in points (PNG: pixels).
    public var height: Int { Int((Double(max(1, rows)) * panelHeight + titleHeight).rounded()) }

    /// The encoded image.
    /// - Throws: `io` when cairo fails.
    public func encoded(as format: ImageFormat) throws -> [UInt8] {
        try CairoCanvas.render(format, width: width, height: height) { canvas in
            canvas.fillRectangle(x: 0, y: 0, width: Double(width), height: Double(height), color: .white)
            if !title.isEmpty {
                canvas.text(title, x: Double(width) / 2, y: 21, size: 15, anchor: 0.5)
            }
            for (i, panel) in panels.enumerated() {
                let x = Double(i % columns) * panelWidth, y = titleHeight + Double(i / columns) * panelHeight
                PanelRenderer(panel: panel, canvas: canvas, x: x, y: y, width: panelWidth, height: panelHeight).draw()
            }
        }
    }

    /// Writes the figure to `path` in the format of its extension, atomically (no partial file on failure).
    /// - Throws: `invalidParameter` for an unknown extension, `io` when drawing or writing fails.
    public func write(to path: String) throws {
        let format = try ImageFormat(path: path)
        try AtomicFileGroup.write(try encoded(as: format), to: path)
    }
}
