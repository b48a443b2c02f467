import Foundation

/// The executables SwiftPM built beside the test bundle (`.build/<configuration>/harmony`, `harmonyd`).
public enum BuiltBinary {
    /// The directory holding the test bundle and the built products.
    public static var productsDirectory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }

    /// The built executable `name`.
    public static func url(_ name: String) -> URL { productsDirectory.appendingPathComponent(name) }
}
