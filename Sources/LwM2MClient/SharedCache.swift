import Synchronization

/// A bounded table of values that every device of a profile or configuration would otherwise
/// compute alike, computed once and shared.
///
/// Devices run on one loop per process, but profiles and configurations are `Sendable`, so the
/// table is behind a mutex; an uncontended lock costs far less than what it saves.
final class SharedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// Past this many entries values are computed per call, so devices that keep producing new
    /// keys (creating instances, say) cannot grow the table without bound.
    let capacity: Int
    private let entries = Mutex<[Key: Value]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The value cached for `key`, or the one `build` makes, cached while there is room.
    func value(for key: Key, build: () -> Value) -> Value {
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let value = build()
        entries.withLock { entries in
            if entries.count < capacity { entries[key] = value }
        }
        return value
    }
}
