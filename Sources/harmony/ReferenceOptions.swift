import ArgumentParser

/// Options of `harmony fit` that also save the fit as a reference model for mapping query cells.
struct ReferenceOptions: ParsableArguments {
    @Option(name: .customLong("reference-out"), help: ArgumentHelp(
        "Also save the fit as a reference model (.hmod) that 'harmony map' and harmonyd map query cells onto.",
        valueName: "file"))
    var referenceOut: String?

    @Option(help: ArgumentHelp(
        "Metadata column of cell labels (e.g. cell_type) stored in the reference model, so that mapped query cells get a predicted label. Needs --reference-out.",
        valueName: "column"))
    var labels: String?

    @Flag(help: "Leave the reference cells out of the model: a much smaller file, but no refits and only cluster-based label transfer. Needs --reference-out.")
    var compact = false

    func validate() throws {
        if referenceOut == nil && (labels != nil || compact) {
            throw ValidationError("--labels and --compact describe the reference model; give --reference-out too.")
        }
        if let labels, labels.isEmpty { throw ValidationError("--labels needs a metadata column name.") }
    }
}
