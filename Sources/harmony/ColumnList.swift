import ArgumentParser

/// The `--vars` value: metadata column names separated by commas.
struct ColumnList: ExpressibleByArgument, Equatable {
    /// The column names in the order given.
    let names: [String]

    init?(argument: String) {
        let names = argument.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters(in: " ")
        }
        guard !names.contains(where: \.isEmpty) else { return nil }
        self.names = names
    }
}
