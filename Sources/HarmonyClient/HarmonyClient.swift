import HarmonyProtocol

/// A blocking harmonyd client over a Unix socket (placeholder in the skeleton).
public enum HarmonyClientInfo {
    /// Protocol version the client speaks.
    public static let protocolVersion = ProtocolVersion.current
}
