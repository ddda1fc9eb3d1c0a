import Fleet
import Foundation
// ServerViolation has no public initializer: only devices report violations.
@testable import LwM2MClient
import XCTest

/// The result file against `schemas/result.schema.json`: a result with every optional part keeps
/// it, a missing, mistyped or unknown key breaks it, and the validator checks every keyword the
/// schema uses (so a schema cannot pass on a check nobody makes).
final class ResultSchemaTests: XCTestCase {
    /// A fleet file with every part the parsed fleet describes: two groups (one secured, one with
    /// faults), the embedded servers with requests, faults and a restart, stages of every kind,
    /// a paced end, limits and thresholds.
    static let fleetText = """
        seed: 9
        duration-limit: 10m
        in-flight-limit: 500
        server: { embedded: { read: [/3/0], observe: [/3/0/9], faults: { loss: 1% }, restart: { at: 5s, down: 2s } } }
        devices:
          - name: meters
            count: 30
            bootstrap: client-initiated
            lifetime: 60s
            session: 20s
            faults: { loss-up: 5%, delay: 20ms, jitter: 5ms }
          - name: locks
            count: 20
            lwm2m-version: "1.2"
            security: { mode: psk, key-secret: s3cret, handshake: every-update, resume: true }
        stages:
          - { duration: 2s, target: 20/s }
          - { duration: 2s, rate: 15/s }
          - { duration: 3s, hold: true, churn: 6%/min }
        end: { mode: deregister, rate: 25/s, grace: 20s }
        thresholds:
          - register.latency.p99 < 200ms
          - bootstrap.failed.rate < 0.1%
          - loop_lag.p99 < 5ms
        """

    /// A result with every optional part filled in.
    static func richResult() throws -> ResultFile {
        let spec = try FleetSpec(yaml: fleetText, source: "rich.yaml")
        var metrics = FleetMetrics()
        metrics.beginStage(0)
        metrics.recordScheduledArrival(intendedStage: 0, startedStage: 0, latenessNanoseconds: 12_000, atNanoseconds: 5_000)
        metrics.recordStateChange(from: .idle, to: .registering)
        metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: 3_000_000, serviceNanoseconds: 2_000_000)
        metrics.recordOperation("write-attributes", outcome: .timedOut, code: nil, latencyNanoseconds: 93_000_000_000, serviceNanoseconds: 1)
        metrics.recordRequestHandled("read", code: .content)
        metrics.recordRetransmissions(2, of: "register")
        metrics.recordViolation(ServerViolation(operation: .read, path: "/3/0", state: .registering, isProven: true))
        metrics.recordViolation(ServerViolation(operation: .observe, path: "/3/0", state: .deregistering, isProven: false))
        metrics.recordDeviceWithViolation()
        metrics.recordLoopLag(nanoseconds: 40_000)
        metrics.recordBytes(sent: 300, received: 200)
        metrics.recordBytes(of: .handshake, sent: 350, received: 258)
        metrics.closeInterval(elapsedNanoseconds: 1_000_000_000)
        metrics.beginStage(3)
        metrics.recordStateChange(from: .registering, to: .stopped)
        metrics.recordOperation(
            "deregister", outcome: .succeeded, code: .deleted, latencyNanoseconds: 1_000_000, serviceNanoseconds: 1_000_000, stage: 3)
        metrics.recordEndOfRunDeregister(outcome: .succeeded, code: .deleted, latencyNanoseconds: 1_000_000)
        metrics.recordUnfinishedDevice(state: "waiting-to-register", pendingOperation: "register")
        metrics.recordUnanswered(server: "coap://127.0.0.1:5683", devices: 1)
        metrics.recordConnectionFailure(server: "coaps://127.0.0.1:5684", reason: "DTLS handshake failed: bad_record_mac")
        metrics.recordEndOfRun(EndOfRunReport(deregistersPerSecond: 25, deregistersSent: 1, sendingSeconds: 0.04, unreached: 0))
        var faults = FaultCounts()
        faults.up.datagrams = 10
        faults.up.dropped = 1
        faults.rebound = 2
        metrics.recordFaults(faults)
        var storm = RestartStormReport(restartAtSeconds: 5, downSeconds: 2)
        storm.devicesRegistered = 1
        storm.registeredAgainPerSecond = [0, 1]
        storm.failures = ["update 4.04": 1]
        metrics.recordRestartStorm(storm)
        var server = EmbeddedServerCounts()
        server.registered = 1
        server.handshakeFailureReasons = ["bad_record_mac": 1]
        server.faults = faults
        metrics.embeddedServer = server
        metrics.endReason = .completed
        metrics.closeInterval(elapsedNanoseconds: 2_000_000_000)
        return ResultFile(
            toolVersion: ToolVersion.current, seed: 16_045_690_981_116_495_207, spec: ResultFile.Spec(path: "rich.yaml", text: spec.text, fleet: ParsedFleet(spec)),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T12:00:09Z", interrupted: false, metrics: metrics,
            thresholds: spec.thresholdResults(for: metrics), workers: 2, shard: ShardStripe(index: 1, count: 4),
            missingStripes: [ShardStripe(index: 3, count: 8)])
    }

    /// The rich result as JSON values, to break on purpose.
    private func richDocument() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Self.richResult().jsonData())
    }

    func testAResultWithEveryOptionalPartKeepsTheSchema() throws {
        let result = try Self.richResult()
        XCTAssertTrue(result.thresholds.contains { $0.observed.isNaN }, "a threshold with no samples writes NaN")
        XCTAssertNotNil(result.metrics.embeddedServer?.faults)
        let problems = ResultSchema.problems(in: try result.jsonData())
        XCTAssertEqual(problems, [])
    }

    func testAMissingKeyBreaksTheSchema() throws {
        var document = try richDocument()
        document.remove(at: ["metrics", "stages", 0, "arrivalsIntended"])
        XCTAssertTrue(ResultSchema.validator.problems(in: document).contains("$.metrics.stages[0]: missing required key 'arrivalsIntended'"))

        document = try richDocument()
        document.remove(at: ["metrics", "operations", "register", "latency", "percentiles", "p99"])
        XCTAssertTrue(ResultSchema.validator.problems(in: document).contains(
            "$.metrics.operations.register.latency.percentiles: missing required key 'p99'"))

        document = try richDocument()
        document.remove(at: ["spec", "fleet", "groups", 1, "security", "handshake"])
        XCTAssertTrue(ResultSchema.validator.problems(in: document).contains("$.spec.fleet.groups[1].security: missing required key 'handshake'"))
    }

    func testAMistypedValueBreaksTheSchema() throws {
        var document = try richDocument()
        document.set(.string("1"), at: ["metrics", "timeSeries", 0, "operations", "register", "count"])
        XCTAssertEqual(ResultSchema.validator.problems(in: document), [
            "$.metrics.timeSeries[0].operations.register.count: expected integer, found string \"1\"",
        ])

        document = try richDocument()
        document.set(.number(0.5), at: ["metrics", "loopLag", "percentiles", "p50"])
        XCTAssertEqual(ResultSchema.validator.problems(in: document), ["$.metrics.loopLag.percentiles.p50: expected integer or null, found number 0.5"])

        document = try richDocument()
        document.set(.string("ramped"), at: ["spec", "fleet", "stages", 0, "arrivals"])
        XCTAssertEqual(ResultSchema.validator.problems(in: document).count, 1)

        document = try richDocument()
        document.set(.integer(2), at: ["schemaVersion"])
        XCTAssertEqual(ResultSchema.validator.problems(in: document), ["$.schemaVersion: 2 is not 3"])
    }

    func testAnUnknownKeyOrAnOddlyNamedMapKeyBreaksTheSchema() throws {
        var document = try richDocument()
        document.set(.integer(1), at: ["metrics", "stageArrivals"])
        XCTAssertEqual(ResultSchema.validator.problems(in: document), ["$.metrics: unexpected key 'stageArrivals'"])

        document = try richDocument()
        document.set(.integer(1), at: ["metrics", "devicesByState", "waitingToRegister"])
        XCTAssertFalse(ResultSchema.validator.problems(in: document).isEmpty, "map keys keep the tool's kebab-case names")
    }

    func testTheValidatorRefusesAKeywordItDoesNotCheck() throws {
        let schema = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"type": "string", "format": "date-time"}"#.utf8))
        XCTAssertEqual(JSONSchemaValidator(schema: schema).problems(in: .string("x")), [
            "schema at $ uses 'format', which this validator does not check",
        ])
    }

    /// Where Python's `jsonschema` is installed (it need not be): the schema is a valid draft
    /// 2020-12 schema, and the reference validator agrees with ours on a good and a broken result.
    func testTheReferenceValidatorAgreesWhereItIsInstalled() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json").path
        let broken = directory.appendingPathComponent("broken.json").path
        try Self.richResult().write(to: good)
        var document = try richDocument()
        document.remove(at: ["metrics", "timeSeries", 0, "loopLag"])
        try JSONEncoder().encode(document).write(to: URL(fileURLWithPath: broken))

        let script = """
            import json, sys
            try:
                import jsonschema
            except ImportError:
                print("no jsonschema"); sys.exit(3)
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:]:
                print(path, len(list(validator.iter_errors(json.load(open(path))))))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, ResultSchema.path, good, broken]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw XCTSkip("python3 is not installed: \(error)")
        }
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 3 || process.terminationStatus == 127 { throw XCTSkip("python3 with jsonschema is not installed") }
        XCTAssertEqual(process.terminationStatus, 0, printed)
        XCTAssertEqual(printed.split(separator: "\n").map(String.init), ["\(good) 0", "\(broken) 1"])
    }
}

extension JSONValue {
    /// A step into an object (a key) or an array (an index).
    enum Step: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case key(String)
        case index(Int)

        init(stringLiteral value: String) { self = .key(value) }
        init(integerLiteral value: Int) { self = .index(value) }
    }

    /// Sets the value at `path` (creating an object member, not array elements).
    mutating func set(_ value: JSONValue, at path: [Step]) {
        guard let step = path.first else {
            self = value
            return
        }
        switch (self, step) {
        case (.object(var members), .key(let key)):
            var member = members[key] ?? .null
            member.set(value, at: Array(path.dropFirst()))
            members[key] = member
            self = .object(members)
        case (.array(var elements), .index(let index)):
            elements[index].set(value, at: Array(path.dropFirst()))
            self = .array(elements)
        default:
            preconditionFailure("no \(step) in \(typeName)")
        }
    }

    /// Removes the object member at `path`.
    mutating func remove(at path: [Step]) {
        guard let step = path.first else { return }
        switch (self, step) {
        case (.object(var members), .key(let key)):
            if path.count == 1 {
                precondition(members.removeValue(forKey: key) != nil, "no \(key) to remove")
            } else {
                members[key]?.remove(at: Array(path.dropFirst()))
            }
            self = .object(members)
        case (.array(var elements), .index(let index)):
            elements[index].remove(at: Array(path.dropFirst()))
            self = .array(elements)
        default:
            preconditionFailure("no \(step) in \(typeName)")
        }
    }
}

/// Written back as JSON, for the reference validator.
extension JSONValue: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .integer(let number):
            // As read: a seed above Int64.max is still an integer, if not to the last digit.
            if let exact = UInt64(exactly: number) {
                try container.encode(exact)
            } else if let exact = Int64(exactly: number) {
                try container.encode(exact)
            } else {
                try container.encode(number)
            }
        case .number(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .array(let elements): try container.encode(elements)
        case .object(let members): try container.encode(members)
        }
    }
}
