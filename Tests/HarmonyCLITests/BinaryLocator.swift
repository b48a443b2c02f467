import Foundation

/// Finds the built executables next to the test bundle (.build/<config>/).
enum BinaryLocator {
    static var productsDirectory: URL {
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(".")
    }
    static func url(_ name: String) -> URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name)
        }
        return Bundle.main.bundleURL.appendingPathComponent(name)
    }
}
