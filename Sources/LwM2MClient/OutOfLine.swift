/// A value kept on the heap behind one pointer and copied on write: for state most devices
/// never hold (a bootstrap endpoint), so that each device pays 8 bytes for it instead of its
/// whole size inline.
struct OutOfLine<Value: Sendable>: Sendable {
    // Unchecked: `value` is only mutated through `OutOfLine.value`'s _modify, which first makes
    // this storage unique, so no two values ever share a mutable instance.
    private final class Storage: @unchecked Sendable {
        var value: Value

        init(_ value: Value) {
            self.value = value
        }
    }

    private var storage: Storage

    init(_ value: Value) {
        storage = Storage(value)
    }

    var value: Value {
        // Read in place: a copy would retain everything the value holds, on every read.
        _read { yield storage.value }
        _modify {
            if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.value) }
            yield &storage.value
        }
    }
}
