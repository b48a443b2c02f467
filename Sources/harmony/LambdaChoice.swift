import ArgumentParser

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
