import Foundation

/// The result of `lwm2m-fleet search` as one JSON document, apart from a run's result file: what
/// was searched (fleet text, seed, plan, thresholds), every step with its load, verdict, failing
/// thresholds and key metrics, and the answer.
///
/// Keys are sorted and the output is indented, as in the run's result file.
public struct SearchResult: Sendable, Codable, Equatable {
    /// The schema this tool writes and reads; a reader refuses another.
    public static let currentSchemaVersion = 1
    /// The value of `document`, which tells a search result from a run's result file.
    public static let documentName = "lwm2m-fleet search"

    public var schemaVersion: Int
    public var document: String
    public var toolVersion: String
    /// Every step ran with this seed: `run FILE --step LOAD --seed SEED` replays one.
    public var seed: UInt64
    public var spec: ResultFile.Spec
    public var plan: SearchPlan
    /// The thresholds each step was judged by, as written.
    public var thresholds: [String]
    /// Wall-clock times, ISO 8601.
    public var startedAt: String
    public var finishedAt: String
    /// `--max-duration` in seconds; nil without one.
    public var maxDurationSeconds: Double?
    public var steps: [SearchStep]
    public var answer: CapacityAnswer
    /// What stopped the search when a step could not be run or read (the tool's failure); nil otherwise.
    public var toolFailure: String?

    public init(
        toolVersion: String, seed: UInt64, spec: ResultFile.Spec, plan: SearchPlan, thresholds: [String], startedAt: String,
        finishedAt: String, maxDurationSeconds: Double?, steps: [SearchStep], answer: CapacityAnswer, toolFailure: String? = nil
    ) {
        schemaVersion = Self.currentSchemaVersion
        document = Self.documentName
        self.toolVersion = toolVersion
        self.seed = seed
        self.spec = spec
        self.plan = plan
        self.thresholds = thresholds
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.maxDurationSeconds = maxDurationSeconds
        self.steps = steps
        self.answer = answer
        self.toolFailure = toolFailure
    }

    /// The exit status the search deserves: 0 with an answer (a knee, or a lower bound where
    /// `to` or the generator was reached first); 99 when no load was sustained (the lowest failed,
    /// or none passed its repeat); 105 for an answer cut short (interrupt, `--max-duration`); 1
    /// when a step could not be run.
    public var exitStatus: Int32 {
        if toolFailure != nil { return 1 }
        if answer.isPartial { return RunExitStatus.endedEarly.rawValue }
        switch answer.kind {
        case .knee, .reachedTo, .generatorLimited: return RunExitStatus.passed.rawValue
        case .noPassingStep, .unconfirmed: return RunExitStatus.thresholdFailed.rawValue
        case .incomplete: return RunExitStatus.endedEarly.rawValue
        }
    }

    /// Writes the document to `path` atomically.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // A threshold's observed value can be NaN (no samples), which JSON cannot spell.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            var data = try encoder.encode(self)
            data.append(UInt8(ascii: "\n"))
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ResultFileError(path: path, message: "cannot write the search result: \(error.localizedDescription)")
        }
    }

    /// Reads a document written by `write(to:)`.
    public static func read(from path: String) throws -> SearchResult {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ResultFileError(path: path, message: "cannot read it: \(error.localizedDescription)")
        }
        struct Header: Decodable {
            var document: String?
            var schemaVersion: Int
        }
        guard let header = try? decoder.decode(Header.self, from: data), header.document == documentName else {
            throw ResultFileError(path: path, message: "not an lwm2m-fleet search result")
        }
        guard header.schemaVersion == currentSchemaVersion else {
            throw ResultFileError(path: path, message: "search result schema version \(header.schemaVersion); this lwm2m-fleet reads version \(currentSchemaVersion)")
        }
        do {
            return try decoder.decode(SearchResult.self, from: data)
        } catch {
            throw ResultFileError(path: path, message: "damaged: \(error)")
        }
    }
}
