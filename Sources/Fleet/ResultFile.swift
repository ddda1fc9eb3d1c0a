import Foundation

/// The outcome of one threshold of the fleet file.
public struct ThresholdResult: Sendable, Codable, Equatable {
    /// As the user wrote it: `register.latency.p99 < 200ms`.
    public var expression: String
    /// The metric it reads (a `MetricCatalog.allNames` name).
    public var metric: String
    /// The metric's value (durations in nanoseconds).
    public var observed: Double
    public var passed: Bool

    public init(expression: String, metric: String, observed: Double, passed: Bool) {
        self.expression = expression
        self.metric = metric
        self.observed = observed
        self.passed = passed
    }
}

/// The result of a run as one JSON document (DESIGN.md "The result file"): what ran, with which
/// seed, when, the metrics with their histograms and percentiles, per stage and per second, and
/// the threshold outcomes. `schemas/result.schema.json` describes every key.
///
/// Keys are sorted and the output is indented, so two result files diff well. Naming: every key
/// the schema defines is lowerCamelCase, with its unit in its name where it has one
/// (`elapsedNanoseconds`, `durationSeconds`); the keys of a map are names of things, written as
/// the tool writes them everywhere else (operations as in thresholds, `write-attributes`; device
/// states, `waiting-to-register`; response codes, `2.04`). Metric names (`loop_lag.p99`) are values
/// (a threshold's `metric`), never keys. An optional value is left out when absent, except a
/// histogram's `percentiles`, whose keys are always there and null when it is empty.
public struct ResultFile: Sendable, Codable, Equatable {
    /// The schema this tool writes and reads; a reader refuses any other.
    /// Version 2: typed device states (`waiting-to-bootstrap`, `waiting-to-register`), unfinished
    /// devices, how the run ended, retransmissions and unfinished devices per operation.
    /// Version 3: percentiles beside every histogram; every operation in every time series point
    /// (count, failures, timeouts, retransmissions, latencies) with the loop's lag and the arrivals'
    /// lateness; per-stage results (`metrics.stages`, which replace `stageArrivals`); the parsed
    /// fleet (`spec.fleet`); the interval still open is no longer written.
    public static let currentSchemaVersion = 3

    /// The fleet file the run used, as it was then, and as data.
    public struct Spec: Sendable, Codable, Equatable {
        public var path: String
        public var text: String
        /// `text` parsed; nil only when it does not parse (a result made by hand).
        public var fleet: ParsedFleet?

        public init(path: String, text: String, fleet: ParsedFleet?) {
            self.path = path
            self.text = text
            self.fleet = fleet
        }

        /// Parses `text` for `fleet` as a fleet file at `path` would be.
        public init(path: String, text: String) {
            self.init(path: path, text: text, fleet: (try? FleetSpec(yaml: text, source: path)).map(ParsedFleet.init))
        }
    }

    /// The name `run` gives the stripe a result covers (`ResultFile.Shard(index:count:)`).
    public typealias Shard = ShardStripe

    public var schemaVersion: Int
    public var toolVersion: String
    /// Replays the run's jitter, retransmission randomization and fault injection.
    public var seed: UInt64
    public var spec: Spec
    /// Wall-clock times, ISO 8601 (`2025-03-01T12:00:00Z`).
    public var startedAt: String
    public var finishedAt: String
    /// Whether the run was stopped (SIGINT, SIGTERM) before its schedule ended.
    public var interrupted: Bool
    public var metrics: FleetMetrics
    public var thresholds: [ThresholdResult]
    /// Worker processes that ran this result's devices, when more than one.
    public var workers: Int?
    /// The stripe of the fleet this result covers; nil for the whole fleet.
    public var shard: ShardStripe?
    /// The stripes a merge allowed to be missing (`merge --allow-partial`), by split and index;
    /// nil when none is. A result with missing stripes is partial: its counts are not the run's.
    public var missingStripes: [ShardStripe]?

    public init(
        toolVersion: String, seed: UInt64, spec: Spec, startedAt: String, finishedAt: String, interrupted: Bool,
        metrics: FleetMetrics, thresholds: [ThresholdResult], workers: Int? = nil, shard: ShardStripe? = nil,
        missingStripes: [ShardStripe]? = nil
    ) {
        schemaVersion = Self.currentSchemaVersion
        self.toolVersion = toolVersion
        self.seed = seed
        self.spec = spec
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.interrupted = interrupted
        self.metrics = metrics
        self.thresholds = thresholds
        self.workers = workers
        self.shard = shard
        self.missingStripes = missingStripes
    }

    /// Whether a merge left stripes out: such a result must not pass for the whole of what it covers.
    public var isPartial: Bool { !(missingStripes ?? []).isEmpty }

    /// Seconds from `startedAt` to `finishedAt`; 0 when either is not an ISO 8601 time.
    public var elapsedSeconds: Double {
        let formatter = ISO8601DateFormatter()
        guard let started = formatter.date(from: startedAt), let finished = formatter.date(from: finishedAt) else { return 0 }
        return finished.timeIntervalSince(started)
    }

    /// The document as `write(to:)` writes it.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let floats = Self.nonConformingFloats
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: floats.positiveInfinity, negativeInfinity: floats.negativeInfinity, nan: floats.nan)
        var data = try encoder.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Writes the document to `path` atomically: a reader sees the old file or the whole new one.
    public func write(to path: String) throws {
        let data: Data
        do {
            data = try jsonData()
        } catch {
            throw ResultFileError(path: path, message: "cannot encode the result (\(error))")
        }
        do {
            // Foundation writes a temporary file next to `path` and renames it over `path`.
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ResultFileError(path: path, message: "cannot write it: \(error.localizedDescription); check the directory exists and is writable")
        }
    }

    /// Checks, before a run starts, that `write(to: path)` will be able to write there: a run
    /// must not be lost at its end to a typo in the path.
    public static func checkWritable(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ResultFileError(path: path, message: "is a directory; give a file name for the result, such as result.json")
        }
        let probe = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).probe")
        guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else {
            throw ResultFileError(
                path: path, message: "cannot be written: \(url.deletingLastPathComponent().path) does not exist or is not writable; give another --out")
        }
        try? FileManager.default.removeItem(at: probe)
    }

    /// Reads a result file written by `write(to:)`.
    public static func read(from path: String) throws -> ResultFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ResultFileError(path: path, message: "cannot read it: \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        let floats = nonConformingFloats
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: floats.positiveInfinity, negativeInfinity: floats.negativeInfinity, nan: floats.nan)
        // The version first, so a newer file gets a clear message rather than a missing key.
        struct Version: Decodable { var schemaVersion: Int }
        let version: Int
        do {
            version = try decoder.decode(Version.self, from: data).schemaVersion
        } catch {
            throw ResultFileError(path: path, message: "not an lwm2m-fleet result file (\(describe(error)))")
        }
        guard version == currentSchemaVersion else {
            let which = version < currentSchemaVersion ? "an earlier" : "a later"
            throw ResultFileError(
                path: path,
                message: "schema version \(version), written by \(which) lwm2m-fleet; this one reads version \(currentSchemaVersion) only: "
                    + "use the version that wrote it, or run the fleet again with this one")
        }
        do {
            return try decoder.decode(ResultFile.self, from: data)
        } catch {
            throw ResultFileError(path: path, message: "damaged: \(describe(error))")
        }
    }

    /// JSON has no infinity or NaN; a threshold's observed value could be one.
    private static let nonConformingFloats = (positiveInfinity: "+Infinity", negativeInfinity: "-Infinity", nan: "NaN")

    /// Where in the document decoding failed, and why.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context), DecodingError.keyNotFound(_, let context),
             DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? context.debugDescription : "at \(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

/// A result file that cannot be written or read, with the file and what to do.
public struct ResultFileError: Error, CustomStringConvertible {
    public var path: String
    public var message: String

    public var description: String { "\(path): \(message)" }
}
