/// Default limits of the protocol; a server announces its actual limits in the INFO reply.
public enum ProtocolLimits {
    /// Default largest payload a peer accepts, in bytes (64 MiB).
    public static let defaultMaxPayloadBytes: Int = 64 << 20
    /// Largest length a u16-prefixed string may have, in UTF-8 bytes.
    public static let maxShortStringBytes: Int = Int(UInt16.max)
}
