import HarmonyCore

/// The file formats a figure is written in, chosen by the output's extension.
public enum ImageFormat: String, Sendable, CaseIterable {
    /// Raster image (`.png`).
    case png
    /// Vector image (`.svg`).
    case svg
    /// Vector document (`.pdf`).
    case pdf

    /// The format named by `path`'s extension (case-insensitive).
    /// - Throws: `invalidParameter` naming the path when the extension is not .png, .svg or .pdf.
    public init(path: String) throws {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."),
              let format = ImageFormat(rawValue: name[name.index(after: dot)...].lowercased()) else {
            throw HarmonyError.invalidParameter("\(path): a picture must end in .png, .svg or .pdf")
        }
        self = format
    }
}
