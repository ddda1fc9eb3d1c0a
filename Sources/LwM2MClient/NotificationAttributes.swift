import CoAP
import LwM2M

/// The notification attributes of one path (LwM2M 1.1 TS Core 5.1.2): when an observation of it
/// notifies. A nil field is not set at this level and is inherited from the level above.
public struct NotificationAttributes: Hashable, Sendable {
    /// `pmin`: the least time between two notifications.
    public var minimumPeriodSeconds: UInt32?
    /// `pmax`: the longest time without a notification.
    public var maximumPeriodSeconds: UInt32?
    /// `gt`: notify when a numeric value crosses above this.
    public var greaterThan: Double?
    /// `lt`: notify when a numeric value crosses below this.
    public var lessThan: Double?
    /// `st`: notify when a numeric value moved at least this much since the last notification.
    public var step: Double?
    /// `epmin` (LwM2M 1.1): the least time between two evaluations of the value.
    public var minimumEvaluationPeriodSeconds: UInt32?
    /// `epmax` (LwM2M 1.1): the longest time without evaluating the value.
    public var maximumEvaluationPeriodSeconds: UInt32?

    public init(
        minimumPeriodSeconds: UInt32? = nil, maximumPeriodSeconds: UInt32? = nil, greaterThan: Double? = nil,
        lessThan: Double? = nil, step: Double? = nil, minimumEvaluationPeriodSeconds: UInt32? = nil,
        maximumEvaluationPeriodSeconds: UInt32? = nil
    ) {
        self.minimumPeriodSeconds = minimumPeriodSeconds
        self.maximumPeriodSeconds = maximumPeriodSeconds
        self.greaterThan = greaterThan
        self.lessThan = lessThan
        self.step = step
        self.minimumEvaluationPeriodSeconds = minimumEvaluationPeriodSeconds
        self.maximumEvaluationPeriodSeconds = maximumEvaluationPeriodSeconds
    }

    /// The attributes a Write-Attributes query sets on a path that had none.
    public init(queryItems: [String], lwm2mVersion: LwM2MVersion = .v1_1) throws(LwM2MQueryError) {
        self = try NotificationAttributes().writing(queryItems: queryItems, lwm2mVersion: lwm2mVersion)
    }

    /// Whether no attribute is set.
    public var isEmpty: Bool { self == NotificationAttributes() }

    /// `pmax` unless it is below `pmin`: such a `pmax` MUST be ignored (TS Core 5.1.2).
    public var applicableMaximumPeriodSeconds: UInt32? {
        guard let maximum = maximumPeriodSeconds else { return nil }
        return maximum < (minimumPeriodSeconds ?? 0) ? nil : maximum
    }

    /// Whether `gt`, `lt` or `st` is set: those apply to numeric resources only (TS Core 5.1.2).
    public var hasValueConditions: Bool { greaterThan != nil || lessThan != nil || step != nil }

    /// These attributes after a Write-Attributes with `queryItems` (LwM2M 1.1 TS Core 6.3.4): `name=value`
    /// sets an attribute, a bare `name` removes it, others are kept. Throws, changing nothing, for an
    /// unknown or repeated name, a bad value, or change value conditions the write sets that break
    /// the TS Core 5.1.2 rules (`lt` < `gt`, `lt` + 2 * `st` < `gt`). A `pmax` below `pmin` is accepted:
    /// the TS has it ignored, see `applicableMaximumPeriodSeconds`.
    public func writing(queryItems: [String], lwm2mVersion: LwM2MVersion = .v1_1) throws(LwM2MQueryError) -> NotificationAttributes {
        var result = self
        var seen: Set<String> = []
        var setsValueConditions = false
        for queryItem in queryItems {
            let parameter = LwM2MQueryParameter(queryItem: queryItem)
            guard seen.insert(parameter.name).inserted else {
                throw LwM2MQueryError(queryItem: queryItem, reason: "\(parameter.name) is given more than once")
            }
            let value = parameter.value
            setsValueConditions = setsValueConditions || (value != nil && ["gt", "lt", "st"].contains(parameter.name))
            switch parameter.name {
            case "pmin": result.minimumPeriodSeconds = try Self.seconds(value, queryItem)
            case "pmax": result.maximumPeriodSeconds = try Self.seconds(value, queryItem)
            case "gt": result.greaterThan = try Self.number(value, queryItem)
            case "lt": result.lessThan = try Self.number(value, queryItem)
            case "st":
                result.step = try Self.number(value, queryItem)
                if let step = result.step, step < 0 {
                    throw LwM2MQueryError(queryItem: queryItem, reason: "st is a distance and cannot be negative")
                }
            case "epmin" where lwm2mVersion >= .v1_1: result.minimumEvaluationPeriodSeconds = try Self.seconds(value, queryItem)
            case "epmax" where lwm2mVersion >= .v1_1: result.maximumEvaluationPeriodSeconds = try Self.seconds(value, queryItem)
            default:
                let known = lwm2mVersion >= .v1_1 ? "pmin, pmax, gt, lt, st, epmin, epmax" : "pmin, pmax, gt, lt, st"
                throw LwM2MQueryError(
                    queryItem: queryItem, reason: "\(parameter.name) is not a notification attribute of LwM2M \(lwm2mVersion) (\(known))")
            }
        }
        if setsValueConditions { try result.checkValueConditions() }
        return result
    }

    /// `more` laid over these attributes: each attribute `more` sets wins. Effective attributes are the
    /// server defaults merged with the object's, then the instance's, then the resource's (TS Core 5.1.2).
    public func merging(_ more: NotificationAttributes) -> NotificationAttributes {
        NotificationAttributes(
            minimumPeriodSeconds: more.minimumPeriodSeconds ?? minimumPeriodSeconds,
            maximumPeriodSeconds: more.maximumPeriodSeconds ?? maximumPeriodSeconds,
            greaterThan: more.greaterThan ?? greaterThan,
            lessThan: more.lessThan ?? lessThan,
            step: more.step ?? step,
            minimumEvaluationPeriodSeconds: more.minimumEvaluationPeriodSeconds ?? minimumEvaluationPeriodSeconds,
            maximumEvaluationPeriodSeconds: more.maximumEvaluationPeriodSeconds ?? maximumEvaluationPeriodSeconds)
    }

    /// The attributes as Discover shows them, in the TS's order.
    public var linkAttributes: [LwM2MLinkAttribute] {
        var attributes: [LwM2MLinkAttribute] = []
        if let minimumPeriodSeconds { attributes.append(.minimumPeriod(minimumPeriodSeconds)) }
        if let maximumPeriodSeconds { attributes.append(.maximumPeriod(maximumPeriodSeconds)) }
        if let greaterThan { attributes.append(.greaterThan(greaterThan)) }
        if let lessThan { attributes.append(.lessThan(lessThan)) }
        if let step { attributes.append(.step(step)) }
        if let minimumEvaluationPeriodSeconds { attributes.append(.minimumEvaluationPeriod(minimumEvaluationPeriodSeconds)) }
        if let maximumEvaluationPeriodSeconds { attributes.append(.maximumEvaluationPeriod(maximumEvaluationPeriodSeconds)) }
        return attributes
    }

    /// `pmin` and `pmax` from Default Minimum Period (/1/x/2) and Default Maximum Period (/1/x/3) of the
    /// Server instance whose Short Server ID (/1/x/0) is `shortServerID`; empty when there is none.
    public static func serverDefaults(in store: ObjectStore, shortServerID: UInt16, now: Timestamp) -> NotificationAttributes {
        for instanceID in store.instanceIDs(of: 1) {
            let instance = LwM2MPath(objectID: 1, instanceID: instanceID)
            guard let records = store.records(at: instance, now: now),
                  records.contains(where: { $0.path.resourceID == 0 && uint32(of: $0.value) == UInt32(shortServerID) })
            else { continue }
            return NotificationAttributes(
                minimumPeriodSeconds: records.first { $0.path.resourceID == 2 }.flatMap { uint32(of: $0.value) },
                maximumPeriodSeconds: records.first { $0.path.resourceID == 3 }.flatMap { uint32(of: $0.value) })
        }
        return NotificationAttributes()
    }

    private static func uint32(of value: LwM2MValue) -> UInt32? {
        guard case .unsignedInteger(let number) = value.converted(to: .unsignedInteger) else { return nil }
        return UInt32(exactly: number)
    }

    // TS Core 5.1.2: a Write-Attributes that sets change value conditions breaking these rules MUST be rejected.
    private func checkValueConditions() throws(LwM2MQueryError) {
        if let low = lessThan, let high = greaterThan {
            guard low < high else { throw LwM2MQueryError(queryItem: nil, reason: "lt \(low) must be less than gt \(high)") }
            if let step, !(low + 2 * step < high) {
                throw LwM2MQueryError(queryItem: nil, reason: "lt + 2 * st (\(low) + 2 * \(step)) must be less than gt \(high)")
            }
        }
    }

    /// A period: whole seconds; nil (remove) for a bare name.
    private static func seconds(_ text: String?, _ queryItem: String) throws(LwM2MQueryError) -> UInt32? {
        guard let text else { return nil }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let seconds = UInt32(text) else {
            throw LwM2MQueryError(queryItem: queryItem, reason: "the value must be whole seconds, 0-\(UInt32.max), not '\(text)'")
        }
        return seconds
    }

    /// A threshold or step: a finite decimal number; nil (remove) for a bare name.
    private static func number(_ text: String?, _ queryItem: String) throws(LwM2MQueryError) -> Double? {
        guard let text else { return nil }
        // Decimal digits, sign, point and exponent only: Double("inf") and hex floats are not LwM2M numbers.
        let decimal = text.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "+-.eE".utf8.contains($0) }
        guard decimal, let number = Double(text), number.isFinite else {
            throw LwM2MQueryError(queryItem: queryItem, reason: "the value must be a finite decimal number, not '\(text)'")
        }
        return number
    }
}

/// The notification attributes one server wrote with Write-Attributes, by path; the client machine
/// keeps one table per server, stores what `.attributesWritten` carries and drops a deleted
/// instance's entries (`removeAll(under:)`).
public struct NotificationAttributeTable: Hashable, Sendable {
    private struct Entry: Hashable, Sendable {
        var path: LwM2MPath
        var attributes: NotificationAttributes
    }

    // A device has a handful of entries at most: a scan beats a dictionary's memory.
    private var entries: [Entry] = []

    public init() {}

    /// The attributes written on exactly `path`; setting nil or empty attributes removes the entry.
    public subscript(path: LwM2MPath) -> NotificationAttributes? {
        get { entries.first { $0.path == path }?.attributes }
        set {
            entries.removeAll { $0.path == path }
            if let newValue, !newValue.isEmpty { entries.append(Entry(path: path, attributes: newValue)) }
        }
    }

    /// Forgets every entry at or below `path` (an instance deleted, say).
    public mutating func removeAll(under path: LwM2MPath) {
        entries.removeAll { path.contains($0.path) }
    }

    /// The attributes that govern an observation of `path`: `serverDefaults` merged with what was
    /// written on the object, the instance, the resource and the resource instance, in that order.
    /// Without server defaults, what Discover of a resource shows (TS Core 6.3.2: inherited ones included).
    public func effective(at path: LwM2MPath, serverDefaults: NotificationAttributes = NotificationAttributes()) -> NotificationAttributes {
        var result = serverDefaults
        var level = LwM2MPath.root
        for id in path.components {
            guard let next = level.appending(id) else { break }
            level = next
            if let written = self[level] { result = result.merging(written) }
        }
        return result
    }
}
