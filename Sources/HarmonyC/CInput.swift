import CHarmony
import HarmonyCore

// Reading the caller's buffers into HarmonyCore values, checking what C cannot (null pointers, sizes, code
// ranges) with errors instead of traps.

enum CInput {
    /// An n x d float32 or float64 array as a Float matrix. The fit and mapping run in Float (see
    /// HarmonyCore's precision notes), so float64 input is rounded once here.
    static func matrix(_ data: UnsafeRawPointer?, dtype: Int32, rows n: Int64, cols d: Int64,
                       what: String) throws -> Matrix<Float> {
        try matrix(data, dtype: dtype, rows: n, cols: d, what: what, as: Float.self)
    }

    /// An n x d float32 or float64 array as a matrix of `T`: the layouts and LISI work in Double (as `harmony umap`
    /// and `harmony lisi` read their files), where float32 input converts exactly.
    static func matrix<T: BinaryFloatingPoint & Sendable>(_ data: UnsafeRawPointer?, dtype: Int32, rows n: Int64,
                                                          cols d: Int64, what: String, as type: T.Type) throws -> Matrix<T> {
        guard let data else { throw HarmonyError.invalidInput("the \(what) pointer is NULL") }
        guard n >= 0, d >= 1 else { throw HarmonyError.invalidInput("the \(what) must be n x d with d >= 1 (got \(n) x \(d))") }
        let (count, overflow) = Int(n).multipliedReportingOverflow(by: Int(d))
        guard !overflow else { throw HarmonyError.invalidInput("the \(what) is too large (\(n) x \(d))") }
        switch dtype {
        case Int32(HARMONY_FLOAT32.rawValue):
            return Matrix(rows: Int(n), cols: Int(d), values: converted(data.assumingMemoryBound(to: Float.self), count: count))
        case Int32(HARMONY_FLOAT64.rawValue):
            return Matrix(rows: Int(n), cols: Int(d), values: converted(data.assumingMemoryBound(to: Double.self), count: count))
        default:
            throw HarmonyError.invalidParameter("unknown dtype \(dtype) for the \(what) (0: float32, 1: float64)")
        }
    }

    /// `count` values read once from the caller's buffer into a new array of `T`.
    private static func converted<S: BinaryFloatingPoint, T: BinaryFloatingPoint>(_ source: UnsafePointer<S>, count: Int) -> [T] {
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count { out[i] = T(source[i]) }
            initialized = count
        }
    }

    /// Throws `invalidInput` naming the first non-finite value's cell and dimension (1-based).
    static func requireFinite<T: BinaryFloatingPoint>(_ matrix: Matrix<T>, what: String) throws {
        if let bad = matrix.values.firstIndex(where: { !$0.isFinite }) {
            throw HarmonyError.invalidInput("the \(what) has a non-finite value (NaN or infinity) at cell \(bad / matrix.cols + 1), dimension \(bad % matrix.cols + 1)")
        }
    }

    /// `count` doubles, or nil when the pointer is NULL or the count 0 (keep the default).
    static func doubles(_ pointer: UnsafePointer<Double>?, count: Int64) -> [Double]? {
        guard let pointer, count > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(count)))
    }

    /// `count` C strings; a NULL entry is an error naming `what`.
    static func strings(_ pointer: UnsafePointer<UnsafePointer<CChar>?>?, count: Int, what: String) throws -> [String] {
        guard let pointer else { throw HarmonyError.invalidInput("the \(what) pointer is NULL") }
        return try (0..<count).map { i in
            guard let s = pointer[i] else { throw HarmonyError.invalidInput("\(what) \(i) is NULL") }
            return String(cString: s)
        }
    }

    /// Codes in 0..<levelCount for `n` cells; an out-of-range code names the cell.
    static func codes(_ pointer: UnsafePointer<Int32>?, cells n: Int, levelCount: Int, what: String) throws -> [Int32] {
        guard let pointer else { throw HarmonyError.invalidInput("the codes of \(what) are NULL") }
        let codes = Array(UnsafeBufferPointer(start: pointer, count: n))
        if let bad = codes.firstIndex(where: { $0 < 0 || Int($0) >= levelCount }) {
            throw HarmonyError.invalidInput("\(what): cell \(bad + 1) has code \(codes[bad]), outside 0..<\(levelCount) (a missing value?)")
        }
        return codes
    }

    /// A covariate over `n` cells. Without level names the levels are named "0", "1", ....
    static func covariate(_ c: harmony_covariate, cells n: Int, index: Int) throws -> Covariate {
        let name = c.name.map { String(cString: $0) } ?? "covariate\(index + 1)"
        guard c.level_count >= 1 else { throw HarmonyError.invalidInput("covariate '\(name)' has no levels") }
        let levelCount = Int(c.level_count)
        let levels = c.levels == nil
            ? (0..<levelCount).map(String.init)
            : try strings(c.levels, count: levelCount, what: "level name of '\(name)'")
        guard Set(levels).count == levels.count else {
            throw HarmonyError.invalidInput("covariate '\(name)' has a level name twice")
        }
        let codes = try codes(c.codes, cells: n, levelCount: levelCount, what: "covariate '\(name)'")
        return Covariate(name: name, levels: levels, codes: codes)
    }
}
