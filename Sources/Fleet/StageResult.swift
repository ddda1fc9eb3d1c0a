/// What happened during one stage of the fleet file's arrival schedule: the arrivals it asked
/// for against those the generator started, and per operation what ended during it.
///
/// Stage `index` is the fleet file's stage of that index (`ParsedFleet.stages`); one past the
/// last is the time after the stages: the end of the run, its De-registers and its grace. An
/// operation counts in the stage in which it ended, by the clock of the process that ran it.
public struct StageResult: Sendable, Equatable {
    public let index: Int
    /// Scheduled arrivals whose intended time lies in the stage.
    public internal(set) var arrivalsIntended: UInt64 = 0
    /// Scheduled arrivals that actually started during the stage, whenever they were intended.
    public internal(set) var arrivalsStarted: UInt64 = 0
    /// By operation name (`MetricCatalog.operations`, and the bootstrap interface's requests).
    public internal(set) var operations: [String: OperationWindow] = [:]

    public init(index: Int) {
        self.index = index
    }

    /// How far the stage's achieved arrival rate is from its target, as a fraction of the target;
    /// 0 for a stage that intended none.
    public var arrivalRateError: Double {
        arrivalsIntended == 0 ? 0 : abs(Double(arrivalsStarted) - Double(arrivalsIntended)) / Double(arrivalsIntended)
    }

    /// Adds the same stage of another worker or shard.
    mutating func merge(_ other: StageResult) {
        arrivalsIntended += other.arrivalsIntended
        arrivalsStarted += other.arrivalsStarted
        operations.merge(other.operations) { mine, theirs in
            var merged = mine
            merged.merge(theirs)
            return merged
        }
    }
}

/// `arrivalRateError` is written for readers and not read back.
extension StageResult: Codable {
    private enum CodingKeys: String, CodingKey {
        case index, arrivalsIntended, arrivalsStarted, arrivalRateError, operations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        index = try container.decode(Int.self, forKey: .index)
        arrivalsIntended = try container.decode(UInt64.self, forKey: .arrivalsIntended)
        arrivalsStarted = try container.decode(UInt64.self, forKey: .arrivalsStarted)
        operations = try container.decode([String: OperationWindow].self, forKey: .operations)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(arrivalsIntended, forKey: .arrivalsIntended)
        try container.encode(arrivalsStarted, forKey: .arrivalsStarted)
        try container.encode(arrivalRateError, forKey: .arrivalRateError)
        try container.encode(operations, forKey: .operations)
    }
}
