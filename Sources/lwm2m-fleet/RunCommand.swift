import ArgumentParser
import CoAP
import EventLoop
import Fleet
import Foundation
import LwM2MClient

/// `lwm2m-fleet run FLEET.yaml`: a fleet of simulated devices against a server, measured.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a fleet file: devices arrive, bootstrap, register, live and deregister; results are measured.",
        discussion: """
            Progress goes to standard error every second; a summary table to standard output at the end; \
            the whole result (spec, seed, histograms, counters, thresholds) to --out as JSON. Exit 0, or 99 \
            when a threshold failed, 104 when the fleet file is invalid. A first SIGINT/SIGTERM stops arrivals \
            and deregisters within a grace period; a second stops at once. Results are written either way.
            """
    )

    @Argument(help: "The fleet file (YAML); see fleets/quickstart.yaml.")
    var fleet: String

    @Option(name: .long, help: "Where to write the result JSON.")
    var out: String = "fleet-result.json"

    @Option(name: .long, help: "Seed of every random choice of the run (overrides the file's).")
    var seed: UInt64?

    @Flag(name: .long, help: "No progress lines.")
    var quiet = false

    func run() throws {
        let spec: FleetSpec
        do {
            spec = try FleetSpec(contentsOfFile: fleet)
        } catch {
            throw ValidationError("\(error)")
        }
        let runSeed = seed ?? spec.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        FileHandle.standardError.write(Data("lwm2m-fleet run \(fleet): \(spec.deviceCount) devices, seed \(runSeed)\n".utf8))
        let limit = OpenFileLimit.raiseToHardLimit()
        // Two sockets per device at most during a bootstrap, plus the loop's own descriptors.
        if UInt64(spec.deviceCount) * 2 + 64 > limit.soft {
            throw ValidationError(
                "\(spec.deviceCount) devices need up to \(spec.deviceCount * 2) sockets, but this process may open only \(limit.soft) files; raise the hard limit (ulimit -Hn) or split the fleet with --shard")
        }

        var embedded: EmbeddedServerProcess?
        var serverURI: String?
        var bootstrapURI: String?
        switch spec.server {
        case .embedded(let actions):
            var arguments = actions.read.map { ["--read", $0.description] }.flatMap { $0 }
            arguments += actions.observe.flatMap { ["--observe", $0.description] }
            arguments += actions.execute.flatMap { ["--execute", $0.description] }
            if let lifetime = spec.devices.first?.lifetimeSeconds { arguments += ["--lifetime", "\(lifetime)"] }
            let server = try EmbeddedServerProcess(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), arguments: arguments)
            embedded = server
            serverURI = server.serverURI
            bootstrapURI = server.bootstrapURI
        case .external(let server, let bootstrap):
            serverURI = server
            bootstrapURI = bootstrap
        }

        let setups = try spec.deviceSetup(serverURI: serverURI, bootstrapURI: bootstrapURI)
        var devices: [LwM2MClient] = []
        devices.reserveCapacity(spec.deviceCount)
        for setup in setups {
            for index in setup.indices {
                devices.append(LwM2MClient(configuration: setup.configuration, profile: setup.profile, index: index, seed: runSeed))
            }
        }
        let localAddress = try setups.first?.localAddresses.first ?? SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let plan = FleetRunner.Plan(
            devices: devices, schedule: spec.arrivalSchedule,
            stageNames: spec.stages.enumerated().map { "stage \($0.offset + 1)/\(spec.stages.count)" },
            deregisterAtEnd: spec.end == .deregister, inFlightLimit: spec.inFlightLimit,
            durationLimitSeconds: spec.durationLimitSeconds, localAddress: localAddress)
        let startedAt = Date()
        let outcome = try FleetRunner(plan: plan, progress: ProgressPrinter(enabled: !quiet)).run()
        let serverSummary = embedded?.stop()

        let thresholds = spec.thresholds.map { threshold in
            let result = threshold.evaluate { outcome.metrics.value(for: $0) }
            return ThresholdResult(
                expression: threshold.text, metric: threshold.metric, observed: result.observed ?? .nan, passed: result.passed)
        }
        let formatter = ISO8601DateFormatter()
        let result = ResultFile(
            toolVersion: ToolVersion.current, seed: runSeed, spec: ResultFile.Spec(path: fleet, text: spec.text),
            startedAt: formatter.string(from: startedAt), finishedAt: formatter.string(from: Date()),
            interrupted: outcome.interrupted, metrics: outcome.metrics, thresholds: thresholds, workers: 1, shard: nil)
        try result.write(to: out)
        print(SummaryTable.render(outcome.metrics, thresholds: thresholds, elapsedSeconds: outcome.elapsedSeconds))
        if let serverSummary, !serverSummary.isEmpty { print("embedded server: \(serverSummary)") }
        print("result: \(out)\(outcome.interrupted ? " (interrupted)" : "")")
        if thresholds.contains(where: { !$0.passed }) { throw ExitCode(99) }
    }
}
