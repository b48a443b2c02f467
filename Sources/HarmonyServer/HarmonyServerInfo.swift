import CLibUV
import HarmonyProtocol

/// Facts about this build of harmonyd and the libuv it links.
public enum HarmonyServerInfo {
    /// The version of harmonyd (and of the `harmony` tool it ships with).
    public static var version: String { HarmonyRelease.version }
    /// The libuv version string.
    public static var libuvVersion: String { String(cString: uv_version_string()) }
}
