/// Errors of the daemon outside libuv calls (which throw `UVError`). Each carries a sentence for the operator.
public enum ServerError: Error, Equatable, CustomStringConvertible {
    /// A file in the state directory could not be read, written or synced.
    case io(String)
    /// The configuration cannot work (bad flag value, socket in use by a live daemon, ...).
    case configuration(String)
    /// The model or the state directory holds data the daemon cannot serve.
    case state(String)

    /// The sentence for the operator.
    public var description: String {
        switch self {
        case .io(let m), .configuration(let m), .state(let m): return m
        }
    }
}
