import CoAP
import LwM2M

/// One device's object instances: its profile's shared instances plus a sparse overlay of what
/// was written, created or deleted on this device.
///
/// An untouched device stores 24 bytes here; a bootstrap or a Write copies only the instances
/// it touches. Values with a generator are computed at read time and never stored.
public struct ObjectStore: Sendable {
    public let profile: DeviceProfile
    /// Seeds the value generators, so devices of one profile differ but replay exactly.
    public let seed: UInt64
    /// Instances that differ from the profile, sorted by key.
    private var overlay: [(key: InstanceKey, records: [LwM2MRecord]?)] = []

    public init(profile: DeviceProfile, seed: UInt64) {
        self.profile = profile
        self.seed = seed
    }

    public var model: LwM2MModel { profile.model }

    /// Nothing was written, created or deleted: the store holds exactly its profile's instances.
    var isUntouched: Bool { overlay.isEmpty }

    // MARK: Reading

    /// Every instance the device has, in order.
    public var instanceKeys: [InstanceKey] {
        if overlay.isEmpty { return profile.sortedInstanceKeys }
        // Both lists are sorted: merge them, the overlay deciding where both hold a key.
        let shared = profile.sortedInstanceKeys
        var keys: [InstanceKey] = []
        keys.reserveCapacity(shared.count + overlay.count)
        var next = 0
        for entry in overlay {
            while next < shared.count, shared[next] < entry.key {
                keys.append(shared[next])
                next += 1
            }
            if next < shared.count, shared[next] == entry.key { next += 1 }
            if entry.records != nil { keys.append(entry.key) }
        }
        keys.append(contentsOf: shared[next...])
        return keys
    }

    /// Supported objects: those of the profile and any that gained an instance.
    public var objectIDs: [UInt16] {
        if overlay.isEmpty { return profile.objectIDs }
        return Array(Set(profile.objectIDs + instanceKeys.map(\.objectID))).sorted()
    }

    public func instanceIDs(of objectID: UInt16) -> [UInt16] {
        instanceKeys.filter { $0.objectID == objectID }.map(\.instanceID)
    }

    public func hasInstance(_ key: InstanceKey) -> Bool {
        storedRecords(key) != nil
    }

    /// The stored records of an instance (generated values not applied), nil when it does not exist.
    func storedRecords(_ key: InstanceKey) -> [LwM2MRecord]? {
        if let index = overlayIndex(key) { return overlay[index].records }
        return profile.instances[key]
    }

    /// The records at `path` with generated values as of `now`, sorted by path; nil when the
    /// path does not exist (object without instances is an empty list, not nil).
    public func records(at path: LwM2MPath, now: Timestamp) -> [LwM2MRecord]? {
        switch path.level {
        case .root:
            return instanceKeys.flatMap { records(of: $0, now: now) }
        case .object:
            let keys = instanceKeys.filter { $0.objectID == path.objectID }
            guard !keys.isEmpty || objectIDs.contains(path.objectID!) else { return nil }
            return keys.flatMap { records(of: $0, now: now) }
        default:
            guard let key = InstanceKey(path), hasInstance(key) else { return nil }
            let found = records(of: key, now: now).filter { path.contains($0.path) }
            return path.level == .objectInstance || !found.isEmpty ? found : nil
        }
    }

    /// One value, with generators applied.
    public func value(at path: LwM2MPath, now: Timestamp) -> LwM2MValue? {
        records(at: path, now: now)?.first { $0.path == path }?.value
    }

    private func records(of key: InstanceKey, now: Timestamp) -> [LwM2MRecord] {
        guard var records = storedRecords(key) else { return [] }
        guard !profile.generators.isEmpty else { return records }
        for index in records.indices {
            let path = records[index].path
            if let generator = profile.generators[ResourceKey(objectID: key.objectID, resourceID: path.resourceID!)],
               let generated = generator.value(seed: seed, path: path, now: now, type: records[index].value.type) {
                records[index].value = generated
            }
        }
        return records
    }

    // MARK: Writing

    /// Sets an instance's records, creating the instance if needed (records outside it are ignored).
    public mutating func replaceInstance(_ key: InstanceKey, with records: [LwM2MRecord]) {
        let inside = records.filter { InstanceKey($0.path) == key && $0.path.level >= .resource }
        setOverlay(key, inside.sorted { $0.path < $1.path })
    }

    /// Writes records into an instance (creating it if needed): each resource named by the
    /// records is replaced as a whole (all its instances), the others are kept.
    public mutating func update(_ key: InstanceKey, with records: [LwM2MRecord]) {
        let inside = records.filter { InstanceKey($0.path) == key && $0.path.level >= .resource }
        let touched = Set(inside.map { $0.path.resourceID! })
        var merged = (storedRecords(key) ?? []).filter { !touched.contains($0.path.resourceID!) }
        merged.append(contentsOf: inside)
        setOverlay(key, merged.sorted { $0.path < $1.path })
    }

    /// Removes an instance; false when it did not exist.
    @discardableResult
    public mutating func deleteInstance(_ key: InstanceKey) -> Bool {
        guard hasInstance(key) else { return false }
        setOverlay(key, nil)
        return true
    }

    private func overlayIndex(_ key: InstanceKey) -> Int? {
        overlay.firstIndex { $0.key == key }
    }

    private mutating func setOverlay(_ key: InstanceKey, _ records: [LwM2MRecord]?) {
        if let index = overlayIndex(key) {
            // Back to exactly the profile's content: forget the copy.
            if records == profile.instances[key] { overlay.remove(at: index) } else { overlay[index].records = records }
            return
        }
        guard records != profile.instances[key] else { return }
        let position = overlay.firstIndex { $0.key > key } ?? overlay.endIndex
        overlay.insert((key, records), at: position)
    }
}
