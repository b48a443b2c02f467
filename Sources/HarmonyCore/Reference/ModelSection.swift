/// The sections of a model file, in the order they must appear (Protocols/model-format.md).
enum ModelSection: UInt32, CaseIterable {
    /// K, d, preset, sigma per cluster, theta, lambda.
    case parameters = 1
    /// N_k (K) and C_k (K x d), Double.
    case statistics = 2
    /// Covariate names and level labels.
    case covariates = 3
    /// beta_kb per global level (B x K x d), Double.
    case levelTerms = 4
    /// Label column, label set, pi_kl (K x L). Present iff flag bit 1.
    case labels = 5
    /// Reference cell ids. Present iff flag bit 0 (compact) is clear.
    case cellIds = 6
    /// Original and corrected embeddings (Float), covariate and label codes. Present iff not compact.
    case cellData = 7
    /// Genes, gene statistics, loadings and normalization (format 2). Present iff flag bit 2.
    case genes = 8
    /// Per-cluster centre and covariance of the uncorrected reference (format 2). Present iff flag bit 3.
    case clusterSpread = 9
    /// The reference cells' 2-D layout and its UMAP settings (format 3). Present iff flag bit 4.
    case layout = 10

    /// Upper-case name used in messages and in `harmony inspect`.
    var name: String {
        switch self {
        case .parameters: return "PARAMETERS"
        case .statistics: return "STATISTICS"
        case .covariates: return "COVARIATES"
        case .levelTerms: return "LEVEL_TERMS"
        case .labels: return "LABELS"
        case .cellIds: return "CELL_IDS"
        case .cellData: return "CELL_DATA"
        case .genes: return "GENES"
        case .clusterSpread: return "CLUSTER_SPREAD"
        case .layout: return "LAYOUT"
        }
    }
}
