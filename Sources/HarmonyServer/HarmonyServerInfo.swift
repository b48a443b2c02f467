import CLibUV

/// Facts about the linked libuv (placeholder in the skeleton).
public enum HarmonyServerInfo {
    /// The libuv version string.
    public static var libuvVersion: String { String(cString: uv_version_string()) }
}
