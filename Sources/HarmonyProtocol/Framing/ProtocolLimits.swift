/// Default limits of the protocol; a server announces its actual limits in the INFO reply.
public enum ProtocolLimits {
    /// Default largest payload a peer accepts, in bytes (64 MiB).
    public static let defaultMaxPayloadBytes: Int = 64 << 20
    /// Largest length a u16-prefixed string may have, in UTF-8 bytes.
    public static let maxShortStringBytes: Int = Int(UInt16.max)
    /// Longest batch label a MAP may carry, in UTF-8 bytes. The server names a cell sent without an id
    /// `<batch>#<i>` (i at most 20 digits), and that name must still fit a str16 when EXPORT returns it, so the
    /// label leaves room for the suffix; 1024 is far more than any real sample name needs.
    public static let maxBatchLabelBytes: Int = 1024
}
