import Foundation

// Layout of one panel inside its cell of the figure (points, y down):
//   title band 26 | plot area | tick labels and x label; y tick labels and y label on the left;
//   the legend (swatches and labels) on the right, at most 40% of the cell's width.
// Data coordinates map linearly onto the plot area; numeric ranges are padded by 4% on each side.

/// Draws one panel: marks, frame, ticks, labels and legend.
struct PanelRenderer {
    let panel: Panel
    let canvas: CairoCanvas
    let x: Double, y: Double, width: Double, height: Double

    static let tickSize = 9.0
    static let labelSize = 10.5
    static let titleSize = 12.0
    static let legendSize = 9.5
    static let legendLine = 14.0

    func draw() {
        let numeric = panel.showsTicks || !panel.xCategories.isEmpty
        let legendWidth = legendColumnWidth()
        let left = x + (numeric ? 46 : 12) + (panel.yLabel.isEmpty ? 0 : 16)
        let right = x + width - 10 - legendWidth
        let top = y + 28
        let bottom = y + height - (numeric ? 22 : 8) - (panel.xLabel.isEmpty ? 0 : 16)
        let area = (left: left, right: max(left + 10, right), top: top, bottom: max(top + 10, bottom))
        let range = dataRange()
        let sx = { (v: Double) in area.left + (v - range.0) / (range.1 - range.0) * (area.right - area.left) }
        let sy = { (v: Double) in area.bottom - (v - range.2) / (range.3 - range.2) * (area.bottom - area.top) }

        canvas.clip(x: area.left, y: area.top, width: area.right - area.left, height: area.bottom - area.top)
        for mark in panel.marks { draw(mark, sx: sx, sy: sy) }
        canvas.unclip()
        canvas.strokeRectangle(x: area.left, y: area.top, width: area.right - area.left,
                               height: area.bottom - area.top, color: .ink, lineWidth: 0.8)
        if !panel.title.isEmpty {
            canvas.text(panel.title, x: (area.left + area.right) / 2, y: y + 18, size: Self.titleSize, anchor: 0.5)
        }
        if !panel.xCategories.isEmpty {
            for (i, name) in panel.xCategories.enumerated() {
                let px = sx(Double(i))
                canvas.line(from: (px, area.bottom), to: (px, area.bottom + 4), color: .ink, width: 0.8)
                canvas.text(Self.shortened(name, to: 14), x: px, y: area.bottom + 14, size: Self.tickSize, anchor: 0.5)
            }
        } else if panel.showsTicks {
            for t in AxisTicks.positions(low: range.0, high: range.1) {
                let px = sx(t)
                canvas.line(from: (px, area.bottom), to: (px, area.bottom + 4), color: .ink, width: 0.8)
                canvas.text(AxisTicks.label(t), x: px, y: area.bottom + 14, size: Self.tickSize, anchor: 0.5)
            }
        }
        if numeric {
            for t in AxisTicks.positions(low: range.2, high: range.3) {
                let py = sy(t)
                canvas.line(from: (area.left - 4, py), to: (area.left, py), color: .ink, width: 0.8)
                canvas.text(AxisTicks.label(t), x: area.left - 6, y: py + 3, size: Self.tickSize, anchor: 1)
            }
        }
        if !panel.xLabel.isEmpty {
            canvas.text(panel.xLabel, x: (area.left + area.right) / 2, y: y + height - 8, size: Self.labelSize, anchor: 0.5)
        }
        if !panel.yLabel.isEmpty {
            canvas.text(panel.yLabel, x: x + 14, y: (area.top + area.bottom) / 2, size: Self.labelSize, anchor: 0.5,
                        angle: Double.pi / 2)
        }
        drawLegend(left: area.right + 10, top: area.top)
    }

    // MARK: - Marks

    private func draw(_ mark: Mark, sx: (Double) -> Double, sy: (Double) -> Double) {
        switch mark {
        case let .scatter(xs, ys, categories, colors, radius, order):
            let count = order.isEmpty ? xs.count : order.count
            var current = -1
            for o in 0..<count {
                let i = order.isEmpty ? o : Int(order[o])
                let c = Int(categories[i])
                if c != current {
                    canvas.setColor(colors[c])
                    current = c
                }
                canvas.disc(x: sx(Double(xs[i])), y: sy(Double(ys[i])), radius: radius)
            }
        case let .line(xs, ys, color, lineWidth, dots):
            let points = zip(xs, ys).map { (sx($0), sy($1)) }
            canvas.polyline(points, color: color, width: lineWidth)
            if dots {
                canvas.setColor(color)
                for p in points { canvas.disc(x: p.0, y: p.1, radius: 2.2) }
            }
        case let .violin(position, values, color, violinWidth):
            drawViolin(position: position, values: values, color: color, violinWidth: violinWidth, sx: sx, sy: sy)
        case let .histogram(values, bins, color):
            let h = Histogram(values: values, bins: bins)
            let step = (h.high - h.low) / Double(h.counts.count)
            for (b, count) in h.counts.enumerated() where count > 0 {
                let x0 = sx(h.low + Double(b) * step), x1 = sx(h.low + Double(b + 1) * step)
                canvas.fillRectangle(x: x0, y: sy(Double(count)), width: x1 - x0, height: sy(0) - sy(Double(count)),
                                     color: color)
            }
        }
    }

    private func drawViolin(position: Double, values: [Double], color: Color, violinWidth: Double,
                            sx: (Double) -> Double, sy: (Double) -> Double) {
        let density = KernelDensity(values: values)
        guard let peak = density.densities.max(), peak > 0 else { return }
        let half = violinWidth / 2
        var outline: [(Double, Double)] = []
        for (v, f) in zip(density.grid, density.densities) { outline.append((sx(position + half * f / peak), sy(v))) }
        for (v, f) in zip(density.grid, density.densities).reversed() {
            outline.append((sx(position - half * f / peak), sy(v)))
        }
        canvas.polygon(outline, fill: color.withAlpha(0.55), stroke: color, width: 0.8)
        let q = density.quartiles
        canvas.line(from: (sx(position), sy(q.0)), to: (sx(position), sy(q.2)), color: .ink, width: 2)
        canvas.line(from: (sx(position - half * 0.4), sy(q.1)), to: (sx(position + half * 0.4), sy(q.1)),
                    color: .ink, width: 1.6)
    }

    // MARK: - Ranges and legend

    /// (xmin, xmax, ymin, ymax) of the marks, padded; categories span -0.5 ..< count - 0.5.
    private func dataRange() -> (Double, Double, Double, Double) {
        var box = (Double.infinity, -Double.infinity, Double.infinity, -Double.infinity)
        for mark in panel.marks {
            guard let b = mark.bounds else { continue }
            box = (min(box.0, b.0), max(box.1, b.1), min(box.2, b.2), max(box.3, b.3))
        }
        if box.0 > box.1 { box = (0, 1, 0, 1) }
        func padded(_ lo: Double, _ hi: Double) -> (Double, Double) {
            let span = hi - lo
            let pad = span > 0 ? span * 0.04 : max(abs(lo) * 0.05, 0.5)
            return (lo - pad, hi + pad)
        }
        var (x0, x1) = padded(box.0, box.1)
        var (y0, y1) = padded(box.2, box.3)
        if !panel.xCategories.isEmpty { (x0, x1) = (-0.5, Double(panel.xCategories.count) - 0.5) }
        if let forced = panel.yRange { (y0, y1) = forced }
        if panel.marks.contains(where: { if case .histogram = $0 { return true } else { return false } }) { y0 = 0 }
        return (x0, x1, y0, y1)
    }

    private func legendColumnWidth() -> Double {
        guard !panel.legend.isEmpty else { return 0 }
        let widest = panel.legend.prefix(LegendEntry.maximumShown)
            .map { canvas.textWidth(Self.shortened($0.label, to: 28), size: Self.legendSize) }.max() ?? 0
        return min(width * 0.4, widest + LegendEntry.swatchSize + 16)
    }

    private func drawLegend(left: Double, top: Double) {
        let shown = panel.legend.prefix(LegendEntry.maximumShown)
        let s = LegendEntry.swatchSize
        for (i, entry) in shown.enumerated() {
            let rowTop = top + Double(i) * Self.legendLine
            canvas.fillRectangle(x: left, y: rowTop + 2, width: s, height: s, color: entry.color.withAlpha(1))
            canvas.text(Self.shortened(entry.label, to: 28), x: left + s + 5, y: rowTop + s + 1, size: Self.legendSize)
        }
        if panel.legend.count > shown.count {
            canvas.text("+ \(panel.legend.count - shown.count) more", x: left,
                        y: top + Double(shown.count) * Self.legendLine + s + 1, size: Self.legendSize)
        }
    }

    static func shortened(_ s: String, to n: Int) -> String {
        s.count <= n ? s : String(s.prefix(n - 1)) + "…"
    }
}
