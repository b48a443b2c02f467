// The served-model store: the model new requests are mapped with and the state directory's model files.
// A refit replaces `current` on the loop thread once its model is durable in `files`.
// Thread contract: loop thread only (`current` is an immutable value that pool jobs capture).

/// The model being served and where models are kept.
struct ServedModelStore {
    /// The model new requests are mapped with.
    var current: ServedModel
    /// The state directory's model files, pointer, log and checkpoint paths.
    let files: ModelStore
}
