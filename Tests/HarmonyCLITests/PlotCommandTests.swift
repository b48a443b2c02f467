import Foundation
import XCTest

/// `harmony umap` and `harmony plot`: layouts written and reproducible, pictures of the right size with the
/// expected panels and legend entries, errors with exit 2 and no output.
final class PlotCommandTests: XCTestCase {
    /// A simulated data set (600 cells, 3 batches, 4 types) in `cli`'s directory under data/.
    private func simulate(_ cli: CLIRunner) throws {
        try cli.simulate(cells: 600, dims: 10, batches: 3, types: 4, seed: 2)
    }

    private func bytes(_ cli: CLIRunner, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: cli.directory.appendingPathComponent(name)))
    }

    func testUmapWritesAReproducibleLayout() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try simulate(cli)
        for name in ["a.tsv", "b.tsv"] {
            let r = try cli.run(["umap", "data/pcs.tsv.gz", "--out", name, "--epochs", "100", "--threads", name == "a.tsv" ? "1" : "2"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let a = try bytes(cli, "a.tsv")
        XCTAssertEqual(a, try bytes(cli, "b.tsv"))
        let lines = String(decoding: a, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 601)
        XCTAssertEqual(lines[0], "cell_id\tUMAP1\tUMAP2")
        XCTAssertEqual(lines[1].split(separator: "\t").count, 3)
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.split(separator: "\t").dropFirst().allSatisfy { Double($0)?.isFinite == true } })
    }

    func testConvergencePNG() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try simulate(cli)
        let fit = try cli.run(["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch", "--out", "z.tsv",
                               "--report", "report.json", "--quiet"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let r = try cli.run(["plot", "convergence", "report.json", "--out", "conv.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let size = SVGShapes.pngSize(try bytes(cli, "conv.png"))
        XCTAssertEqual(size?.0, 880)
        XCTAssertEqual(size?.1, 390)
        let svg = try cli.run(["plot", "convergence", "report.json", "--out", "conv.svg"])
        XCTAssertEqual(svg.status, 0, svg.stderr)
        XCTAssertEqual(SVGShapes(String(decoding: try bytes(cli, "conv.svg"), as: UTF8.self)).frames(), 2)
        // Not a report: exit 2, one error line, no picture.
        try cli.write("bad.json", "{\"iterations\": 3}")
        let bad = try cli.run(["plot", "convergence", "bad.json", "--out", "bad.png"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("error: bad.json: no 'objective'"), bad.stderr)
        XCTAssertFalse(cli.exists("bad.png"))
    }

    func testEmbeddingBeforeAndAfterSVG() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try simulate(cli)
        XCTAssertEqual(try cli.run(["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch",
                                    "--out", "z.tsv", "--quiet"]).status, 0)
        let r = try cli.run(["plot", "embedding", "--before", "data/pcs.tsv.gz", "--after", "z.tsv", "--meta", "data/meta.tsv.gz",
                             "--color-by", "batch,cell_type", "--out", "views.svg", "--epochs", "50"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let shapes = SVGShapes(String(decoding: try bytes(cli, "views.svg"), as: UTF8.self))
        XCTAssertEqual(shapes.width, 880)
        XCTAssertEqual(shapes.height, 750)
        XCTAssertEqual(shapes.frames(), 4, "2 embeddings x 2 columns")
        XCTAssertEqual(shapes.squares(side: 8), 2 * (3 + 4), "legend entries: 3 batches and 4 types, twice")
        // A given layout is used instead of UMAP, and an unknown column is refused.
        XCTAssertEqual(try cli.run(["umap", "z.tsv", "--out", "layout.tsv", "--epochs", "30", "--quiet"]).status, 0)
        let given = try cli.run(["plot", "embedding", "--after", "z.tsv", "--after-layout", "layout.tsv", "--meta",
                                 "data/meta.tsv.gz", "--color-by", "batch", "--out", "after.png"])
        XCTAssertEqual(given.status, 0, given.stderr)
        XCTAssertEqual(SVGShapes.pngSize(try bytes(cli, "after.png"))?.0, 440)
        let unknown = try cli.run(["plot", "embedding", "--after", "z.tsv", "--meta", "data/meta.tsv.gz", "--color-by", "tissue",
                                   "--out", "x.png"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("no column 'tissue'"), unknown.stderr)
        XCTAssertFalse(cli.exists("x.png"))
        let format = try cli.run(["plot", "embedding", "--after", "z.tsv", "--meta", "data/meta.tsv.gz", "--color-by", "batch",
                                  "--out", "x.jpg"])
        XCTAssertEqual(format.status, 2)
        XCTAssertTrue(format.stderr.contains(".png, .svg or .pdf"), format.stderr)
    }

    func testLisiViolinsSVG() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try simulate(cli)
        XCTAssertEqual(try cli.run(["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch",
                                    "--out", "z.tsv", "--quiet"]).status, 0)
        for (input, out) in [("data/pcs.tsv.gz", "before.tsv"), ("z.tsv", "after.tsv")] {
            let r = try cli.run(["lisi", input, "--meta", "data/meta.tsv.gz", "--vars", "batch,cell_type", "--per-cell", out])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let r = try cli.run(["plot", "lisi", "before.tsv", "after.tsv", "--names", "before,after", "--meta", "data/meta.tsv.gz",
                             "--by", "batch", "--out", "lisi.svg"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let shapes = SVGShapes(String(decoding: try bytes(cli, "lisi.svg"), as: UTF8.self))
        XCTAssertEqual(shapes.frames(), 2, "one panel per score column")
        XCTAssertEqual(shapes.squares(side: 8), 4, "two files in each panel's legend")
        let pdf = try cli.run(["plot", "lisi", "after.tsv", "--meta", "data/meta.tsv.gz", "--by", "batch", "--out", "lisi.pdf"])
        XCTAssertEqual(pdf.status, 0, pdf.stderr)
        XCTAssertEqual(Array(try bytes(cli, "lisi.pdf").prefix(5)), Array("%PDF-".utf8))
    }

    func testMappingPlacesQueryOnReferenceView() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try simulate(cli)
        let fit = try cli.run(["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch", "--out", "z.tsv",
                               "--reference-out", "ref.hmod", "--labels", "cell_type", "--quiet"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let map = try cli.run(["map", "data/pcs.tsv.gz", "--reference", "ref.hmod", "--meta", "data/meta.tsv.gz",
                               "--batch-key", "batch", "--out", "mapped.tsv", "--predictions", "pred.tsv"])
        XCTAssertEqual(map.status, 0, map.stderr)
        let r = try cli.run(["plot", "mapping", "--reference", "z.tsv", "--reference-meta", "data/meta.tsv.gz", "--color-by",
                             "cell_type", "--query", "mapped.tsv", "--query-meta", "pred.tsv", "--query-color-by", "label",
                             "--out", "map.svg", "--placed-out", "placed.tsv", "--epochs", "60"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let shapes = SVGShapes(String(decoding: try bytes(cli, "map.svg"), as: UTF8.self))
        XCTAssertEqual(shapes.frames(), 2)
        XCTAssertEqual(shapes.squares(side: 8), 4 + 4)
        let placed = String(decoding: try bytes(cli, "placed.tsv"), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(placed.count, 601)
        // Mismatched dimensions: exit 2, and neither output is written.
        let r5 = try cli.run(["simulate", "--cells", "60", "--dims", "5", "--batches", "2", "--types", "2", "--out-dir", "small"])
        XCTAssertEqual(r5.status, 0)
        let bad = try cli.run(["plot", "mapping", "--reference", "z.tsv", "--reference-meta", "data/meta.tsv.gz", "--color-by",
                               "cell_type", "--query", "small/pcs.tsv.gz", "--out", "bad.png", "--placed-out", "bad.tsv"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("dimensions"), bad.stderr)
        XCTAssertFalse(cli.exists("bad.png") || cli.exists("bad.tsv"))
    }

    func testHelpOfUmapAndPlotCommands() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let umapOptions = ["--neighbors", "--min-dist", "--epochs", "--seed", "--threads"]
        let expected: [[String]: [String]] = [
            ["umap"]: ["--out", "--quiet"] + umapOptions,
            ["plot"]: ["convergence", "embedding", "lisi", "mapping"],
            ["plot", "convergence"]: ["--out"],
            ["plot", "embedding"]: ["--before", "--after", "--before-layout", "--after-layout", "--meta", "--color-by", "--out"]
                + umapOptions,
            ["plot", "lisi"]: ["--names", "--meta", "--by", "--out"],
            ["plot", "mapping"]: ["--reference", "--reference-meta", "--color-by", "--reference-layout", "--query",
                                  "--query-meta", "--query-color-by", "--placed-out", "--out"] + umapOptions,
        ]
        for (command, options) in expected {
            let r = try cli.run(command + ["--help"])
            XCTAssertEqual(r.status, 0, command.joined(separator: " "))
            XCTAssertTrue(r.stdout.contains("USAGE: harmony \(command.joined(separator: " "))"), r.stdout)
            XCTAssertTrue(r.stdout.contains("Example"), "\(command) help has no examples")
            for option in options { XCTAssertTrue(r.stdout.contains(option), "\(command) help lacks \(option)") }
        }
        let top = try cli.run(["--help"])
        XCTAssertTrue(top.stdout.contains("umap") && top.stdout.contains("plot"), top.stdout)
    }
}
