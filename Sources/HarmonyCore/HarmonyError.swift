/// Errors raised by HarmonyCore. Each case carries a sentence written for the user.
public enum HarmonyError: Error, Equatable, CustomStringConvertible {
    /// A parameter is out of range or inconsistent with the data.
    case invalidParameter(String)
    /// The input data cannot be used (too few cells, non-finite values, a covariate with one level, ...).
    case invalidInput(String)
    /// A file could not be read or parsed; the message names the file, line and column where known.
    case fileFormat(String)
    /// A file could not be opened, written or renamed.
    case io(String)
    /// A numerical invariant failed (names the stage), e.g. a singular ridge system.
    case numerical(String)

    public var description: String {
        switch self {
        case .invalidParameter(let m), .invalidInput(let m), .fileFormat(let m), .io(let m), .numerical(let m):
            return m
        }
    }
}
