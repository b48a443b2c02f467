/// An RGB colour with opacity, components in [0, 1].
public struct Color: Sendable, Equatable {
    /// Red.
    public var red: Double
    /// Green.
    public var green: Double
    /// Blue.
    public var blue: Double
    /// Opacity (1 opaque).
    public var alpha: Double

    /// A colour from components in [0, 1].
    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    /// A colour from a 24-bit 0xRRGGBB value.
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(red: Double((hex >> 16) & 0xff) / 255, green: Double((hex >> 8) & 0xff) / 255,
                  blue: Double(hex & 0xff) / 255, alpha: alpha)
    }

    /// The same colour with another opacity.
    public func withAlpha(_ alpha: Double) -> Color {
        Color(red: red, green: green, blue: blue, alpha: alpha)
    }

    /// Near-black for text and axes.
    public static let ink = Color(hex: 0x222222)
    /// Grey for context points (e.g. a reference behind mapped cells).
    public static let context = Color(hex: 0xc8c8c8)
    /// White.
    public static let white = Color(hex: 0xffffff)

    // Twenty distinguishable hues: ten saturated, then ten lighter companions, so neighbouring category
    // indices differ strongly in hue.
    private static let categorical: [UInt32] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
        0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5, 0xc49c94, 0xf7b6d2, 0xc7c7c7, 0xdbdb8d, 0x9edae5,
    ]

    /// The colour of category `index` (the palette repeats after 20 categories).
    public static func category(_ index: Int) -> Color {
        Color(hex: categorical[((index % categorical.count) + categorical.count) % categorical.count])
    }
}
