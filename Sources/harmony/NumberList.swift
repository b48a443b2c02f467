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

/// The `--lambda` value: `auto` (penalty alpha * E_kb) or fixed numbers.
enum LambdaChoice: ExpressibleByArgument, Equatable {
    /// lambda_kb = alpha * E_kb.
    case auto
    /// A fixed lambda, one value or one per batch variable.
    case fixed(NumberList)

    init?(argument: String) {
        if argument.lowercased() == "auto" {
            self = .auto
        } else if let list = NumberList(argument: argument) {
            self = .fixed(list)
        } else {
            return nil
        }
    }
}

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

extension String {
    /// The string without leading and trailing occurrences of `set`'s characters.
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

extension Substring {
    /// The text without leading and trailing occurrences of `set`'s characters.
    func trimmingCharacters(in set: String) -> String {
        String(self).trimmingCharacters(in: set)
    }
}
