import CCairo
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

// A thin layer over a cairo context: colours, shapes and text in page coordinates (points, y down).
// Surfaces write into memory through cairo's stream callbacks so that the caller commits the file atomically.

/// Drawing primitives over one cairo context.
struct CairoCanvas {
    let context: OpaquePointer

    static let fontFamily = "DejaVu Sans"

    /// Draws a `width` x `height` page with `draw` into an image of `format` and returns its bytes.
    /// - Throws: `io` when cairo reports an error (for example, out of memory).
    static func render(_ format: ImageFormat, width: Int, height: Int,
                       draw: (CairoCanvas) -> Void) throws -> [UInt8] {
        let sink = ByteSink()
        let closure = Unmanaged.passRetained(sink).toOpaque()
        defer { Unmanaged<ByteSink>.fromOpaque(closure).release() }
        let surface: OpaquePointer?
        switch format {
        case .png: surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))
        case .svg: surface = cairo_svg_surface_create_for_stream(ByteSink.write, closure, Double(width), Double(height))
        case .pdf: surface = cairo_pdf_surface_create_for_stream(ByteSink.write, closure, Double(width), Double(height))
        }
        guard let surface else { throw HarmonyError.io("cairo could not create a \(format.rawValue) surface") }
        defer { cairo_surface_destroy(surface) }
        guard let context = cairo_create(surface) else { throw HarmonyError.io("cairo could not create a context") }
        let canvas = CairoCanvas(context: context)
        cairo_select_font_face(context, fontFamily, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        draw(canvas)
        let drawStatus = cairo_status(context)
        cairo_destroy(context)
        if format == .png {
            let status = cairo_surface_write_to_png_stream(surface, ByteSink.write, closure)
            guard status == CAIRO_STATUS_SUCCESS else { throw failure(status) }
        }
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard drawStatus == CAIRO_STATUS_SUCCESS else { throw failure(drawStatus) }
        guard status == CAIRO_STATUS_SUCCESS else { throw failure(status) }
        return sink.bytes
    }

    private static func failure(_ status: cairo_status_t) -> HarmonyError {
        .io("cairo failed: \(String(cString: cairo_status_to_string(status)))")
    }

    func setColor(_ c: Color) {
        cairo_set_source_rgba(context, c.red, c.green, c.blue, c.alpha)
    }

    func fillRectangle(x: Double, y: Double, width: Double, height: Double, color: Color) {
        setColor(color)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    func strokeRectangle(x: Double, y: Double, width: Double, height: Double, color: Color, lineWidth: Double) {
        setColor(color)
        cairo_set_line_width(context, lineWidth)
        cairo_rectangle(context, x, y, width, height)
        cairo_stroke(context)
    }

    func line(from a: (Double, Double), to b: (Double, Double), color: Color, width: Double) {
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_move_to(context, a.0, a.1)
        cairo_line_to(context, b.0, b.1)
        cairo_stroke(context)
    }

    func polyline(_ points: [(Double, Double)], color: Color, width: Double) {
        guard let first = points.first else { return }
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_move_to(context, first.0, first.1)
        for p in points.dropFirst() { cairo_line_to(context, p.0, p.1) }
        cairo_stroke(context)
    }

    /// A closed filled outline with a stroked border.
    func polygon(_ points: [(Double, Double)], fill: Color, stroke: Color, width: Double) {
        guard let first = points.first else { return }
        cairo_move_to(context, first.0, first.1)
        for p in points.dropFirst() { cairo_line_to(context, p.0, p.1) }
        cairo_close_path(context)
        setColor(fill)
        cairo_fill_preserve(context)
        setColor(stroke)
        cairo_set_line_width(context, width)
        cairo_stroke(context)
    }

    func disc(x: Double, y: Double, radius: Double) {
        cairo_new_sub_path(context)
        cairo_arc(context, x, y, radius, 0, 2 * Double.pi)
        cairo_fill(context)
    }

    func clip(x: Double, y: Double, width: Double, height: Double) {
        cairo_save(context)
        cairo_rectangle(context, x, y, width, height)
        cairo_clip(context)
    }

    func unclip() {
        cairo_restore(context)
    }

    /// Width of `text` at `size` points.
    func textWidth(_ text: String, size: Double) -> Double {
        cairo_set_font_size(context, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance
    }

    /// Draws `text` with its baseline at y; `anchor` 0 puts its left end at x, 0.5 its centre, 1 its right end.
    /// `angle` rotates it (radians, counter-clockwise as seen) about (x, y).
    func text(_ text: String, x: Double, y: Double, size: Double, anchor: Double = 0, angle: Double = 0,
              color: Color = .ink) {
        let width = textWidth(text, size: size)
        setColor(color)
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_rotate(context, -angle)
        cairo_move_to(context, -anchor * width, 0)
        cairo_show_text(context, text)
        cairo_restore(context)
    }
}

/// Collects what cairo writes (the callback receives it as its closure pointer).
final class ByteSink {
    var bytes: [UInt8] = []

    static let write: cairo_write_func_t = { closure, data, length in
        guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
        let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
        return CAIRO_STATUS_SUCCESS
    }
}
