// The open connections of a server, by id. Thread contract: loop thread only.

/// Open connections by id, and the id the next one gets.
struct ConnectionRegistry {
    private var byID: [UInt64: Connection] = [:]
    private var nextID: UInt64 = 1

    /// A fresh connection id.
    mutating func takeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// Open connections.
    var count: Int { byID.count }
    /// Whether no connection is open.
    var isEmpty: Bool { byID.isEmpty }
    /// The open connections (in no particular order).
    var values: Dictionary<UInt64, Connection>.Values { byID.values }

    /// The connection with `id`; assigning nil removes it.
    subscript(id: UInt64) -> Connection? {
        get { byID[id] }
        set { byID[id] = newValue }
    }
}
