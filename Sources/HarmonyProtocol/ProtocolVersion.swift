/// The harmonyd wire protocol version this codec speaks (see Protocols/harmonyd-protocol.md).
public enum ProtocolVersion {
    /// Current version number carried in every frame header.
    public static let current: UInt8 = 1
}
