/// One plot of a figure: axes with ticks and labels, marks in data coordinates, and an optional legend.
public struct Panel: Sendable {
    /// Title above the plot area.
    public var title: String
    /// Label under the x axis.
    public var xLabel: String
    /// Label left of the y axis.
    public var yLabel: String
    /// Layers, drawn in order.
    public var marks: [Mark]
    /// Legend entries (label and colour), drawn right of the plot area; empty for none.
    public var legend: [LegendEntry]
    /// Categorical x axis: names at x = 0, 1, ... instead of numeric ticks (for violins); empty for numeric.
    public var xCategories: [String]
    /// Whether to draw numeric ticks (off for 2-D layouts, whose coordinates mean nothing).
    public var showsTicks: Bool
    /// Forced y range (low, high); nil fits the marks.
    public var yRange: (Double, Double)?

    /// A panel with the given title and axis labels and no marks yet.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", marks: [Mark] = [],
                legend: [LegendEntry] = [], xCategories: [String] = [], showsTicks: Bool = true,
                yRange: (Double, Double)? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.marks = marks
        self.legend = legend
        self.xCategories = xCategories
        self.showsTicks = showsTicks
        self.yRange = yRange
    }
}

/// One legend line: a colour swatch and its label.
public struct LegendEntry: Sendable, Equatable {
    /// The label.
    public var label: String
    /// The swatch colour.
    public var color: Color

    /// An entry.
    public init(label: String, color: Color) {
        self.label = label
        self.color = color
    }

    /// Side of a legend swatch square, in points (tests find legend entries in SVG output by it).
    public static let swatchSize = 8.0
    /// Most entries a legend lists; the rest are summarised in one "+ n more" line.
    public static let maximumShown = 24
}
