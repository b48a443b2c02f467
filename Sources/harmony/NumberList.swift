import ArgumentParser

/// A comma-separated list of finite numbers given to one option, e.g. `--theta 2,1`.
struct NumberList: ExpressibleByArgument, Equatable {
    /// The numbers in the order given.
    let values: [Double]

    init(_ values: [Double]) {
        self.values = values
    }

    init?(argument: String) {
        var values: [Double] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Double(part.trimmingCharacters(in: " ")), v.isFinite else { return nil }
            values.append(v)
        }
        guard !values.isEmpty else { return nil }
        self.values = values
    }

    var defaultValueDescription: String {
        values.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int($0)) : String($0) }.joined(separator: ",")
    }
}
