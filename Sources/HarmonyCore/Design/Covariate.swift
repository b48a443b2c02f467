/// One batch variable (a metadata column such as `dataset` or `donor`) as integer codes.
///
/// Levels are the distinct labels in sorted byte order, so code `b` is the b-th label in that order
/// (the convention of the fixtures and of harmonypy). Only observed labels become levels.
public struct Covariate: Sendable, Equatable {
    /// The metadata column this covariate came from.
    public let name: String
    /// The level labels; code `b` means `levels[b]`.
    public let levels: [String]
    /// One code per cell, each in `0..<levels.count`.
    public let codes: [Int32]

    /// A covariate from one label per cell; levels are the distinct labels in sorted byte order.
    public init(name: String, labels: [String]) {
        let levels = Array(Set(labels)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var index: [String: Int32] = [:]
        for (b, level) in levels.enumerated() { index[level] = Int32(b) }
        self.name = name
        self.levels = levels
        self.codes = labels.map { index[$0]! }
    }

    /// A covariate from codes and their level names.
    public init(name: String, levels: [String], codes: [Int32]) {
        precondition(codes.allSatisfy { $0 >= 0 && Int($0) < levels.count }, "covariate code out of range")
        self.name = name
        self.levels = levels
        self.codes = codes
    }

    /// Number of cells of each level.
    public var levelCounts: [Int] {
        var counts = [Int](repeating: 0, count: levels.count)
        for c in codes { counts[Int(c)] += 1 }
        return counts
    }
}
