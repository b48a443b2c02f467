/// One layer drawn in a panel, in data coordinates.
public enum Mark: Sendable {
    /// Points at (x[i], y[i]) coloured `colors[categories[i]]`, drawn in `order` (all points when empty), as
    /// discs of `radius` points.
    case scatter(x: [Float], y: [Float], categories: [Int32], colors: [Color], radius: Double, order: [Int32])
    /// A polyline through (x[i], y[i]), with a dot at each vertex when `dots` is set.
    case line(x: [Double], y: [Double], color: Color, width: Double, dots: Bool)
    /// A violin (mirrored kernel density with quartile lines) of `values` centred at `position` on the x axis,
    /// at most `width` data units wide.
    case violin(position: Double, values: [Double], color: Color, width: Double)
    /// A histogram of `values` with `bins` equal bins over their range, as filled bars.
    case histogram(values: [Double], bins: Int, color: Color)
}

extension Mark {
    /// The data range the mark covers: (xmin, xmax, ymin, ymax), or nil when it has no finite point.
    var bounds: (Double, Double, Double, Double)? {
        var box = (Double.infinity, -Double.infinity, Double.infinity, -Double.infinity)
        func add(_ x: Double, _ y: Double) {
            guard x.isFinite, y.isFinite else { return }
            box = (min(box.0, x), max(box.1, x), min(box.2, y), max(box.3, y))
        }
        switch self {
        case let .scatter(x, y, _, _, _, _):
            for i in x.indices { add(Double(x[i]), Double(y[i])) }
        case let .line(x, y, _, _, _):
            for i in x.indices { add(x[i], y[i]) }
        case let .violin(position, values, _, width):
            for v in values { add(position - width / 2, v); add(position + width / 2, v) }
        case let .histogram(values, bins, _):
            let histogram = Histogram(values: values, bins: bins)
            add(histogram.low, 0)
            add(histogram.high, Double(histogram.counts.max() ?? 0))
        }
        return box.0 <= box.1 ? box : nil
    }
}
