import CoAP
import EventLoop
import Foundation
import LwM2MClient

/// One `lwm2m-fleet run`: starts the embedded server when the fleet asks for it, runs the fleet's
/// stripe in this process or splits it over worker processes, merges their results, evaluates
/// the thresholds, writes the result file, and says how the run went. The command line only
/// parses arguments and prints.
public struct FleetRun {
    /// How the run is carried out, from the command line.
    public struct Options: Sendable {
        /// Overrides the fleet file's seed; nil with no seed in the file: a random one.
        public var seed: UInt64?
        /// The part of the fleet this run covers (`--shard I/N`); the whole by default.
        public var stripe = ShardStripe.whole
        /// Worker processes; nil: one per core, fewer for small fleets.
        public var workers: Int?
        public var quiet = false
        /// Set by the parent for a worker: progress goes to stdout as `ProgressMessage` lines for
        /// the parent, which shows one line for all its workers.
        public var progressToStdout = false
        public var outputPath: String
        /// This binary, started again for the embedded server and the workers.
        public var executable: URL
        /// Set by the parent for a worker: where the parent's embedded server listens.
        public var serverURIOverride: String?
        /// Set by the parent for a worker: the run's start, seconds since 1970 (`ServerRestart`);
        /// nil: this run starts now.
        public var runStartedAt: Double?
        public var bootstrapURIOverride: String?
        /// Set by the parent for a worker: the control socket of the parent's embedded server.
        public var serverControlOverride: String?
        /// Set by the parent for a worker: the `coaps://` ports of the parent's embedded servers.
        public var dtlsServerURIOverride: String?
        public var dtlsBootstrapURIOverride: String?
        /// What `--metrics-port` serves: fed by this process's progress, its workers' included.
        public var liveMetrics: LiveMetrics?
        /// Passed on to every worker, which reads the fleet file again: `--step LOAD` makes it run
        /// the same step of the search as the parent.
        public var workerArguments: [String] = []

        public init(outputPath: String, executable: URL) {
            self.outputPath = outputPath
            self.executable = executable
        }
    }

    /// How a run went, for the command line to print and exit with.
    public struct Report {
        public var result: ResultFile
        public var elapsedSeconds: Double
        /// Worker processes whose results were merged (1 without workers).
        public var workers: Int

        /// The process exit status this run deserves (see `RunExitStatus`).
        public var exitStatus: RunExitStatus { result.exitStatus }
    }

    public let spec: FleetSpec
    /// The fleet file as the user named it.
    public let path: String
    public let options: Options

    /// Seeds every random choice of the run: the option's, the file's, or a random one.
    public let seed: UInt64

    /// The part of the fleet this run covers.
    public var stripe: ShardStripe { options.stripe }

    public init(spec: FleetSpec, path: String, options: Options) {
        self.spec = spec
        self.path = path
        self.options = options
        seed = options.seed ?? spec.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
    }

    /// Worker processes this run uses: one per core by default, but small fleets are not worth a
    /// process per core, and a worker runs in one process.
    public var processes: Int {
        guard options.serverURIOverride == nil, options.bootstrapURIOverride == nil else { return 1 }
        if let workers = options.workers { return workers }
        return min(ProcessInfo.processInfo.activeProcessorCount, max(spec.deviceCount / 100, 1))
    }

    /// Checks what can be checked before any device starts: the open-file limit and the result
    /// file's directory. Throws `FleetRunError` with what to do.
    public func checkBeforeStart() throws {
        // A shard (and each worker of it) runs every Nth device of the fleet.
        let stripes = processes * stripe.count
        let socketsInOneProcess = (spec.socketsOnlineAtOnce + stripes - 1) / stripes
        let limit = OpenFileLimit.raiseToHardLimit()
        // Plus the loop's own descriptors.
        if UInt64(socketsInOneProcess) + 64 > limit.soft {
            throw FleetRunError(
                "one process of this fleet holds up to \(socketsInOneProcess) sockets at once, but a process may open only \(limit.soft) files; raise the hard limit (ulimit -Hn), use more --workers or split the fleet with --shard")
        }
        try ResultFile.checkWritable(options.outputPath)
    }

    /// Runs the fleet and writes the result file. Call `checkBeforeStart` first: its failures are
    /// the user's to mend, where this one's are the run's.
    public func run() throws -> Report {
        // The instant the embedded server's restart counts from, shared with it and the workers.
        let runStartedAt = options.runStartedAt ?? Date().timeIntervalSince1970
        var embedded: EmbeddedServerProcess?
        var serverURI: String?
        var bootstrapURI: String?
        var serverControl: String?
        var dtlsServerURI: String?
        var dtlsBootstrapURI: String?
        switch spec.server {
        case .embedded where options.serverURIOverride != nil || options.bootstrapURIOverride != nil:
            // A worker: the parent runs the one embedded server for all.
            serverURI = options.serverURIOverride
            bootstrapURI = options.bootstrapURIOverride
            serverControl = options.serverControlOverride
            dtlsServerURI = options.dtlsServerURIOverride
            dtlsBootstrapURI = options.dtlsBootstrapURIOverride
        case .embedded(let requests):
            var configuration = spec.embeddedServerConfiguration(for: requests, seed: seed)
            configuration.seed = seed
            configuration.runStartedAt = runStartedAt
            let server = try EmbeddedServerProcess(executable: options.executable, configuration: configuration)
            embedded = server
            serverURI = server.serverURI
            bootstrapURI = server.bootstrapURI
            serverControl = server.controlAddress
            dtlsServerURI = server.dtlsServerURI
            dtlsBootstrapURI = server.dtlsBootstrapURI
        case .external(let server, let bootstrap):
            serverURI = server
            bootstrapURI = bootstrap
        }
        if processes > 1 {
            return try runWorkers(
                embedded: embedded, serverURI: serverURI, bootstrapURI: bootstrapURI,
                dtlsURIs: (dtlsServerURI, dtlsBootstrapURI), runStartedAt: runStartedAt)
        }
        let startedAt = Date()
        let outcome = try runInThisProcess(
            serverURI: serverURI, bootstrapURI: bootstrapURI, dtlsURIs: (dtlsServerURI, dtlsBootstrapURI),
            serverControl: serverControl, runStartedAt: runStartedAt)
        var metrics = outcome.metrics
        metrics.embeddedServer = embedded?.stop()
        let formatter = ISO8601DateFormatter()
        let result = ResultFile(
            toolVersion: ToolVersion.current, seed: seed, spec: ResultFile.Spec(path: path, text: spec.text, fleet: ParsedFleet(spec)),
            startedAt: formatter.string(from: startedAt), finishedAt: formatter.string(from: Date()),
            interrupted: outcome.endReason == .interrupted, metrics: metrics, thresholds: spec.thresholdResults(for: metrics),
            workers: 1, shard: stripe == .whole ? nil : stripe)
        try result.write(to: options.outputPath)
        return Report(result: result, elapsedSeconds: outcome.elapsedSeconds, workers: 1)
    }

    /// The devices of this process's stripe, built and run on one event loop. `serverControl` is the
    /// embedded server's control socket, where devices waiting for server-initiated bootstrap are
    /// announced; `runStartedAt` is the run's start, which the embedded server's restart counts from.
    private func runInThisProcess(
        serverURI: String?, bootstrapURI: String?, dtlsURIs: (server: String?, bootstrap: String?), serverControl: String?,
        runStartedAt: Double
    ) throws -> FleetRunner.Outcome {
        let setups = try spec.deviceSetup(
            serverURI: serverURI, bootstrapURI: bootstrapURI, dtlsServerURI: dtlsURIs.server, dtlsBootstrapURI: dtlsURIs.bootstrap)
        let runSeed = seed
        var devices: [LwM2MClient] = []
        devices.reserveCapacity(spec.deviceCount / stripe.count + 1)
        var sourceAddresses: [SocketAddress] = []
        var sourceAddressOfDevice: [UInt8] = []
        var faults: [DeviceFaults.Group] = []
        var security: [(devices: Range<Int>, security: DeviceSecurity)] = []
        for setup in setups {
            let firstLocal = devices.count
            defer {
                let impairment = spec.devices[setup.groupIndex].faults
                if !impairment.isNone { faults.append(DeviceFaults.Group(devices: firstLocal..<devices.count, impairment: impairment)) }
                if let groupSecurity = setup.security { security.append((firstLocal..<devices.count, groupSecurity)) }
            }
            for index in setup.indices where Int(index) % stripe.count == stripe.index {
                devices.append(LwM2MClient(configuration: setup.configuration, profile: setup.profile, index: index, seed: runSeed))
                let address = setup.localAddress(forDevice: index)
                let slot = sourceAddresses.firstIndex(of: address) ?? {
                    sourceAddresses.append(address)
                    return sourceAddresses.count - 1
                }()
                guard slot < 256 else { throw FleetRunError("at most 256 distinct local addresses per process") }
                sourceAddressOfDevice.append(UInt8(slot))
            }
        }
        let localAddress = try setups.first?.localAddresses.first ?? SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let scheduling = RunScheduler.Configuration(
            schedule: spec.arrivalSchedule, stripeIndex: stripe.index, stripeCount: stripe.count, deviceCount: devices.count,
            inFlightLimit: spec.inFlightLimit, durationLimitSeconds: spec.durationLimitSeconds,
            churnPerSecond: spec.stages.map(\.churnPerSecond), end: spec.endOfRun(stripes: stripe.count),
            firstOperation: firstOperationOfDevice(setups: setups), seed: runSeed ^ 0xC4_0124)
        // The devices move into the plan and from it into the runner's driver: a copy left here
        // would keep every device twice once the driver changes one.
        var plan = FleetRunner.Plan(devices: consume devices, scheduling: scheduling, localAddress: localAddress)
        plan.sourceAddresses = sourceAddresses
        plan.sourceAddressOfDevice = sourceAddressOfDevice
        plan.embeddedServerControl = try serverControl.map(SocketAddress.init(hostAndPort:))
        plan.faults = faults
        plan.security = security
        plan.seed = runSeed
        if case .embedded(let server) = spec.server {
            plan.serverRestart = server.restart
            plan.runStartedAt = runStartedAt
        }
        plan.makeDevice = { old, incarnation in
            // A new seed per incarnation: the rebooted device's message IDs and tokens differ from
            // the last ones', which the server may still hold in its duplicate cache for that port.
            let seed = runSeed &+ UInt64(incarnation) &* 0xD1B5_4A32_D192_ED03
            return LwM2MClient(configuration: old.configuration, profile: old.store.profile, index: old.index, seed: seed)
        }
        let progress: any ProgressSink = options.progressToStdout ? WorkerProgressWriter() : progressPrinter(workers: 1)
        let runner = try FleetRunner(plan: plan, progress: progress)
        plan.devices = []
        return try runner.run()
    }

    /// Shows the progress of this process's part of the fleet, run by `workers` processes.
    private func progressPrinter(workers: Int) -> ProgressPrinter {
        ProgressPrinter(
            progress: FleetProgress(workers: workers, schedule: spec.arrivalSchedule, share: 1 / Double(stripe.count)),
            enabled: !options.quiet, live: options.liveMetrics)
    }

    /// Which operation each local device of the stripe starts with, from its group.
    private func firstOperationOfDevice(setups: [DeviceGroupSetup]) -> @Sendable (Int) -> LwM2MOperation {
        let stripe = stripe
        let groups = setups.map { (indices: $0.indices, operation: $0.firstOperation) }
        return { local in
            let global = UInt32(stripe.index + local * stripe.count)
            return groups.first { $0.indices.contains(global) }?.operation ?? .register
        }
    }

    /// Runs worker child processes, one stripe of the devices each, against one server, and
    /// merges their results. Interrupts reach the children, which write their results as usual.
    /// Each worker reports its progress on its stdout, a pipe to this process, which shows one
    /// line for them all.
    private func runWorkers(
        embedded: EmbeddedServerProcess?, serverURI: String?, bootstrapURI: String?, dtlsURIs: (server: String?, bootstrap: String?),
        runStartedAt: Double
    ) throws -> Report {
        let workers = processes
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-fleet-workers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var children: [Process] = []
        var parts: [String] = []
        let printer = progressPrinter(workers: workers)
        let progressReaders = DispatchGroup()
        for worker in 0..<workers {
            let part = directory.appendingPathComponent("part-\(worker).json").path
            // Worker w of shard I/N runs stripe I + N*w of N*W: the shards of several machines and
            // the workers of each compose into one split of the fleet.
            let workerStripe = "\(stripe.index + stripe.count * worker)/\(stripe.count * workers)"
            var arguments = [
                "run", path, "--shard", workerStripe, "--out", part, "--seed", "\(seed)", "--workers", "1", "--quiet", "--progress-to-stdout",
                "--run-started-at", "\(runStartedAt)",
            ] + options.workerArguments
            if let embedded {
                if let serverURI { arguments += ["--server-uri", serverURI] }
                if let bootstrapURI { arguments += ["--bootstrap-uri", bootstrapURI] }
                if let uri = dtlsURIs.server { arguments += ["--dtls-server-uri", uri] }
                if let uri = dtlsURIs.bootstrap { arguments += ["--dtls-bootstrap-uri", uri] }
                arguments += ["--server-control", embedded.controlAddress]
            }
            let child = Process()
            child.executableURL = options.executable
            child.arguments = arguments
            let progressPipe = Pipe()
            child.standardOutput = progressPipe
            try child.run()
            progressReaders.enter()
            WorkerProgressReader.start(worker: worker, reading: progressPipe, into: printer, group: progressReaders)
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
        progressReaders.wait()
        printer.finish()
        sources.forEach { $0.cancel() }
        let serverCounts = embedded?.stop()
        let results = try zip(parts, children).map { path, child in
            do {
                return try ResultFile.read(from: path)
            } catch {
                throw FleetRunError("worker \(child.arguments?[3] ?? "") ended with status \(child.terminationStatus) and wrote no result (\(error))")
            }
        }
        // The workers' stripes make up exactly this process's shard: anything else is refused.
        var merged = try ResultMerge.merge(Array(zip(parts, results)), covering: stripe)
        if let counts = serverCounts {
            // The workers could not see the server's counts: their thresholds are evaluated again.
            merged.metrics.embeddedServer = counts
            merged.thresholds = spec.thresholdResults(for: merged.metrics)
        }
        try merged.write(to: options.outputPath)
        return Report(result: merged, elapsedSeconds: merged.elapsedSeconds, workers: workers)
    }
}

/// The exit status of `lwm2m-fleet run` (and `merge`), as `run --help` and the README document it.
public enum RunExitStatus: Int32, Sendable {
    /// Every threshold passed on a complete run.
    case passed = 0
    /// A threshold failed (one with no samples fails too).
    case thresholdFailed = 99
    /// The fleet file or the arguments are invalid, or a result file cannot be written.
    case invalidInput = 104
    /// The result does not cover a whole run: it ended before its stages were done (interrupted,
    /// or stopped by `duration-limit`), or a merge left parts out (`--allow-partial`).
    case endedEarly = 105
}

extension ResultFile {
    /// The exit status a run or merge with this result deserves: a result that does not cover a
    /// whole run never passes, whatever its thresholds.
    public var exitStatus: RunExitStatus {
        if metrics.endReason.map({ $0 != .completed }) ?? true || isPartial { return .endedEarly }
        return thresholds.contains { !$0.passed } ? .thresholdFailed : .passed
    }
}

/// A run that cannot start or finish, with what to do about it.
public struct FleetRunError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
