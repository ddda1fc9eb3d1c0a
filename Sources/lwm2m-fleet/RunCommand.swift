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

    @Option(name: .long, help: "Run one stripe I/N of the fleet (devices whose index % N == I), e.g. for one pod of a Kubernetes Indexed Job; combine the results with `lwm2m-fleet merge`.")
    var shard: String?

    @Option(name: .long, help: "Worker processes, each one event loop with a stripe of the devices; their results are merged exactly. Default: the number of cores.")
    var workers: Int?

    @Option(name: .customLong("server-uri"), help: .hidden)
    var serverURIOverride: String?

    @Option(name: .customLong("bootstrap-uri"), help: .hidden)
    var bootstrapURIOverride: String?

    /// The --shard stripe as (index, count).
    func shardStripe() throws -> (index: Int, count: Int) {
        guard let shard else { return (0, 1) }
        let parts = shard.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count > 0, index >= 0, index < count else {
            throw ValidationError("--shard: '\(shard)' must be I/N with 0 <= I < N, e.g. 0/4")
        }
        return (index, count)
    }

    func validate() throws {
        _ = try shardStripe()
        if let workers {
            guard workers >= 1, workers <= 64 else { throw ValidationError("--workers must be 1 to 64, got \(workers)") }
            guard shard == nil else { throw ValidationError("--workers and --shard do not go together: a shard runs in one process") }
        }
    }

    func run() throws {
        let spec: FleetSpec
        do {
            spec = try FleetSpec(contentsOfFile: fleet)
        } catch {
            throw ValidationError("\(error)")
        }
        let runSeed = seed ?? spec.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        if !quiet { FileHandle.standardError.write(Data("lwm2m-fleet run \(fleet): \(spec.deviceCount) devices, seed \(runSeed)\n".utf8)) }
        // Small fleets are not worth a process per core.
        let requested = workers ?? ProcessInfo.processInfo.activeProcessorCount
        let processes = shard == nil ? min(requested, max(spec.deviceCount / 100, 1)) : 1
        // A shard (a worker of --workers, too) runs every Nth device of the fleet.
        let stripesOfTheFleet = processes * (try shardStripe().count)
        let socketsInOneProcess = (spec.socketsOnlineAtOnce + stripesOfTheFleet - 1) / stripesOfTheFleet
        let limit = OpenFileLimit.raiseToHardLimit()
        // Plus the loop's own descriptors.
        if UInt64(socketsInOneProcess) + 64 > limit.soft {
            throw ValidationError(
                "one process of this fleet holds up to \(socketsInOneProcess) sockets at once, but a process may open only \(limit.soft) files; raise the hard limit (ulimit -Hn), use more --workers or split the fleet with --shard")
        }

        var embedded: EmbeddedServerProcess?
        var serverURI: String?
        var bootstrapURI: String?
        let stripe = try shardStripe()
        switch spec.server {
        case .embedded where serverURIOverride != nil || bootstrapURIOverride != nil:
            // A worker of `--workers`: the parent runs the one embedded server for all.
            serverURI = serverURIOverride
            bootstrapURI = bootstrapURIOverride
        case .embedded(let requests):
            let server = try EmbeddedServerProcess(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                configuration: spec.embeddedServerConfiguration(for: requests))
            embedded = server
            serverURI = server.serverURI
            bootstrapURI = server.bootstrapURI
        case .external(let server, let bootstrap):
            serverURI = server
            bootstrapURI = bootstrap
        }

        if processes > 1 {
            return try runWorkers(processes: processes,spec: spec, seed: runSeed, embedded: embedded, serverURI: serverURI, bootstrapURI: bootstrapURI)
        }
        let setups = try spec.deviceSetup(serverURI: serverURI, bootstrapURI: bootstrapURI)
        var devices: [LwM2MClient] = []
        devices.reserveCapacity(spec.deviceCount)
        var sourceAddresses: [SocketAddress] = []
        var sourceAddressOfDevice: [UInt8] = []
        for setup in setups {
            for index in setup.indices where Int(index) % stripe.count == stripe.index {
                devices.append(LwM2MClient(configuration: setup.configuration, profile: setup.profile, index: index, seed: runSeed))
                let address = setup.localAddress(forDevice: index)
                let slot = sourceAddresses.firstIndex(of: address) ?? {
                    sourceAddresses.append(address)
                    return sourceAddresses.count - 1
                }()
                guard slot < 256 else { throw ValidationError("at most 256 distinct local addresses per process") }
                sourceAddressOfDevice.append(UInt8(slot))
            }
        }
        let localAddress = try setups.first?.localAddresses.first ?? SocketAddress(ipAddress: "127.0.0.1", port: 0)
        // The devices move into the plan and from it into the runner's driver: a copy left here
        // would keep every device twice once the driver changes one.
        var plan = FleetRunner.Plan(
            devices: consume devices, schedule: spec.arrivalSchedule,
            stageNames: spec.stages.enumerated().map { "stage \($0.offset + 1)/\(spec.stages.count)" },
            deregisterAtEnd: spec.end == .deregister, inFlightLimit: spec.inFlightLimit,
            durationLimitSeconds: spec.durationLimitSeconds, localAddress: localAddress)
        plan.shardIndex = stripe.index
        plan.shardCount = stripe.count
        plan.churnPerSecond = spec.stages.map(\.churnPerSecond)
        plan.sourceAddresses = sourceAddresses
        plan.sourceAddressOfDevice = sourceAddressOfDevice
        plan.makeDevice = { old, incarnation in
            // A new seed per incarnation: the rebooted device's message IDs and tokens differ from
            // the last ones', which the server may still hold in its duplicate cache for that port.
            let seed = runSeed &+ UInt64(incarnation) &* 0xD1B5_4A32_D192_ED03
            return LwM2MClient(configuration: old.configuration, profile: old.store.profile, index: old.index, seed: seed)
        }
        let startedAt = Date()
        let prefix = shard.map { "shard \($0): " } ?? ""
        let runner = try FleetRunner(plan: plan, progress: ProgressPrinter(enabled: !quiet, prefix: prefix))
        plan.devices = []
        let outcome = try runner.run()
        var metrics = outcome.metrics
        metrics.embeddedServer = embedded?.stop()

        let thresholds = spec.thresholdResults(for: metrics)
        let formatter = ISO8601DateFormatter()
        let result = ResultFile(
            toolVersion: ToolVersion.current, seed: runSeed, spec: ResultFile.Spec(path: fleet, text: spec.text),
            startedAt: formatter.string(from: startedAt), finishedAt: formatter.string(from: Date()),
            interrupted: outcome.interrupted, metrics: metrics, thresholds: thresholds, workers: 1,
            shard: shard == nil ? nil : ResultFile.Shard(index: stripe.index, count: stripe.count))
        try result.write(to: out)
        print(SummaryTable.render(metrics, thresholds: thresholds, elapsedSeconds: outcome.elapsedSeconds))
        if let counts = metrics.embeddedServer { print("embedded server: \(counts.summaryLine)") }
        print("result: \(out)\(outcome.interrupted ? " (interrupted)" : "")")
        if thresholds.contains(where: { !$0.passed }) { throw ExitCode(99) }
    }

    /// Runs `--workers` child processes, one stripe of the devices each, against one server, and
    /// merges their results. Interrupts reach the children, which write their results as usual.
    private func runWorkers(
        processes workers: Int, spec: FleetSpec, seed: UInt64, embedded: EmbeddedServerProcess?, serverURI: String?, bootstrapURI: String?
    ) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-fleet-workers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var children: [Process] = []
        var parts: [String] = []
        for index in 0..<workers {
            let part = directory.appendingPathComponent("part-\(index).json").path
            // Worker 0 shows its progress (prefixed with its stripe) unless the run is quiet.
            var arguments = ["run", fleet, "--shard", "\(index)/\(workers)", "--out", part, "--seed", "\(seed)"]
            if quiet || index > 0 { arguments.append("--quiet") }
            if embedded != nil {
                if let serverURI { arguments += ["--server-uri", serverURI] }
                if let bootstrapURI { arguments += ["--bootstrap-uri", bootstrapURI] }
            }
            let child = Process()
            child.executableURL = executable
            child.arguments = arguments
            child.standardOutput = FileHandle.nullDevice
            try child.run()
            children.append(child)
            parts.append(part)
        }
        // The parent waits; a SIGINT to it is passed on to every worker (each then ends its run).
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let forward = { (number: Int32) -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { for child in children where child.isRunning { kill(child.processIdentifier, SIGINT) } }
            source.resume()
            return source
        }
        let sources = [forward(SIGINT), forward(SIGTERM)]
        for child in children { child.waitUntilExit() }
        sources.forEach { $0.cancel() }
        let serverCounts = embedded?.stop()
        let results = try parts.map { path in
            do {
                return try ResultFile.read(from: path)
            } catch {
                throw ValidationError("a worker wrote no result (\(error))")
            }
        }
        var merged = try MergeCommand.merge(results, paths: parts)
        if let counts = serverCounts {
            // The workers could not see the server's counts: their thresholds are evaluated again.
            merged.result.metrics.embeddedServer = counts
            merged.result.thresholds = spec.thresholdResults(for: merged.result.metrics)
        }
        try merged.result.write(to: out)
        print(SummaryTable.render(merged.result.metrics, thresholds: merged.result.thresholds, elapsedSeconds: merged.elapsedSeconds))
        if let serverCounts { print("embedded server: \(serverCounts.summaryLine)") }
        print("result: \(out) (\(workers) workers merged)\(merged.result.interrupted ? " (interrupted)" : "")")
        if merged.result.thresholds.contains(where: { !$0.passed }) { throw ExitCode(99) }
    }
}
