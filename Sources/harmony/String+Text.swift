// Small text helpers for option parsing and table output.

extension String {
    /// The string without leading and trailing occurrences of `set`'s characters.
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }

    /// The string padded with spaces on the right to `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

extension Substring {
    /// The text without leading and trailing occurrences of `set`'s characters.
    func trimmingCharacters(in set: String) -> String {
        String(self).trimmingCharacters(in: set)
    }
}
