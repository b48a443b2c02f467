// Minimal JSON writing without Foundation: the C interface's model descriptions and `harmony client`'s replies.

/// JSON text pieces: string literals, numbers, arrays and objects (compact layout).
public enum JSONText {
    /// A JSON string literal with the required escapes.
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// A number; non-finite values (which JSON cannot hold) become null.
    public static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

    /// An array of numbers.
    public static func numbers(_ xs: [Double]) -> String { "[" + xs.map(number).joined(separator: ",") + "]" }

    /// An array of string literals.
    public static func strings(_ xs: [String]) -> String { "[" + xs.map(string).joined(separator: ",") + "]" }

    /// An object from (key, JSON value) pairs in order.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
