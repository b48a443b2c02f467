/// The release of this package, printed by `harmony --version` and `harmonyd --version` and sent in HELLO replies.
public enum HarmonyRelease {
    /// The version number, e.g. `0.2.0`.
    public static let version = "0.2.0"
}
