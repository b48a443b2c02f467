// Version negotiation (Protocols/harmonyd-protocol.md, "Version negotiation"): a client announces the range
// [min, max] it speaks in HELLO; the server answers with the highest version both sides speak, or with an
// UNSUPPORTED_VERSION error when the ranges do not overlap. HELLO itself always travels in a version-1 header so
// that every server can read it.

/// The harmonyd wire protocol versions this codec speaks (see Protocols/harmonyd-protocol.md). Version 2 adds
/// FORGET and MAP_TRANSIENT; version 3 adds MAP_EXPRESSION and MAP_EXPRESSION_TRANSIENT, INFO's gene section and
/// the MAP reply's mapping distances. Every layout of an older version is unchanged in a newer one's frames of
/// that older version.
public enum ProtocolVersion {
    /// Current version number carried in every frame header.
    public static let current: UInt8 = 3
    /// The oldest version this codec can read and write.
    public static let minimum: UInt8 = 1
    /// The newest version this codec can read and write.
    public static let maximum: UInt8 = 3

    /// True when this codec speaks `version`.
    public static func isSupported(_ version: UInt8) -> Bool {
        version >= minimum && version <= maximum
    }

    /// The highest version in both `[clientMin, clientMax]` and the versions this codec speaks, or nil when the
    /// ranges do not overlap (or the client's range is empty).
    public static func negotiate(clientMin: UInt8, clientMax: UInt8) -> UInt8? {
        guard clientMin <= clientMax else { return nil }
        let high = min(clientMax, maximum)
        let low = max(clientMin, minimum)
        return low <= high ? high : nil
    }
}
