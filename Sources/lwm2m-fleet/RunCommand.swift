import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet run FLEET.yaml`: a fleet of simulated devices against a server, measured.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a fleet file: devices arrive, bootstrap, register, live and deregister; results are measured.",
        discussion: """
            Progress goes to standard error every second; a summary table to standard output at the end; \
            the whole result (spec, seed, histograms, counters, thresholds) to --out as JSON. A first \
            SIGINT/SIGTERM stops arrivals and deregisters at the end's pace within its grace; a second stops \
            at once. Results are written either way.

            Exit status:
              0    every threshold passed on a complete run
              99   a threshold failed (a threshold over a metric with no samples fails)
              104  the fleet file or the arguments are invalid, or --out cannot be written
              105  the run ended before its stages were done (interrupted, or duration-limit), whatever its thresholds
              1    the tool itself failed (the embedded server did not start, a worker died)
            """
    )

    @Argument(help: "The fleet file (YAML); see fleets/quickstart.yaml.")
    var fleet: String

    @Option(name: .long, help: "Where to write the result JSON (checked writable before the run starts).")
    var out: String = "fleet-result.json"

    @Option(name: .long, help: "Seed of every random choice of the run (overrides the file's).")
    var seed: UInt64?

    @Flag(name: .long, help: "No progress lines.")
    var quiet = false

    @Option(
        name: .long,
        help: "Run one stripe I/N of the fleet (devices whose index % N == I), e.g. for one pod of a Kubernetes Indexed Job; combine the results with `lwm2m-fleet merge`. Goes with --workers.",
        transform: { text in try ShardStripe(parsing: text) })
    var shard: ShardStripe = .whole

    // Unconditional: `--workers -1` is a bad count to name, not a missing value.
    @Option(name: .long, parsing: .unconditional, help: "Worker processes, each one event loop with a stripe of the devices; their results are merged exactly. Default: the number of cores (one for fleets under 200 devices).")
    var workers: Int?

    @OptionGroup var metrics: MetricsOptions
    @Option(
        name: .long,
        help: "Run the fleet as one step of its search (`lwm2m-fleet search`) at this load: a rate such as 500/s (load: arrival-rate) or a device count (load: devices-held). Replays a step with the search's --seed.")
    var step: String?

    @Option(name: .customLong("server-uri"), help: .hidden)
    var serverURIOverride: String?

    @Option(name: .customLong("bootstrap-uri"), help: .hidden)
    var bootstrapURIOverride: String?

    /// Set by the parent for its workers: the embedded servers' `coaps://` addresses.
    @Option(name: .customLong("dtls-server-uri"), help: .hidden)
    var dtlsServerURIOverride: String?
    @Option(name: .customLong("dtls-bootstrap-uri"), help: .hidden)
    var dtlsBootstrapURIOverride: String?

    /// Set by the parent for its workers: the embedded server's control socket (`HOST:PORT`).
    @Option(name: .customLong("server-control"), help: .hidden)
    var serverControlOverride: String?
    /// Set by the parent for its workers: the run's start, seconds since 1970, which the embedded
    /// server's restart counts from.
    @Option(name: .customLong("run-started-at"), help: .hidden)
    var runStartedAt: Double?

    /// Set by the parent for its workers: stdout carries progress messages to it.
    @Flag(name: .customLong("progress-to-stdout"), help: .hidden)
    var progressToStdout = false

    func validate() throws {
        if let workers {
            guard workers >= 1, workers <= 64 else { throw ValidationError("--workers must be 1 to 64, got \(workers)") }
        }
    }

    func run() throws {
        var spec: FleetSpec
        do {
            spec = try FleetSpec(contentsOfFile: fleet)
        } catch {
            throw ValidationError("\(error)")
        }
        // Workers read the same file: the parent alone says what it skipped.
        if !progressToStdout {
            for note in spec.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        }
        if let step {
            let plan = spec.searchPlan
            guard let load = SearchPlan.load(parsing: step, as: plan.load) else {
                let valid = plan.load == .arrivalRate ? "a rate such as 500/s" : "a whole number of devices such as 2000"
                throw ValidationError("--step '\(step)' is not valid for load: \(plan.load.rawValue); give \(valid)")
            }
            if let problem = spec.searchProblemsOfGroups.first {
                throw ValidationError("\(fleet): devices[\(problem.group)].security.key-file: \(problem.problem)")
            }
            spec = spec.searchStep(atLoad: load, plan: plan)
        }
        var options = FleetRun.Options(outputPath: out, executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
        options.seed = seed
        options.stripe = shard
        options.workers = workers
        options.quiet = quiet
        options.progressToStdout = progressToStdout
        options.serverURIOverride = serverURIOverride
        options.bootstrapURIOverride = bootstrapURIOverride
        options.serverControlOverride = serverControlOverride
        options.dtlsServerURIOverride = dtlsServerURIOverride
        options.dtlsBootstrapURIOverride = dtlsBootstrapURIOverride
        options.runStartedAt = runStartedAt
        // Workers report to their parent, which serves the whole fleet's metrics.
        let live = progressToStdout ? nil : metrics.metricsPort.map { _ in LiveMetrics() }
        let endpoint = try live.flatMap { try metrics.startEndpoint(serving: $0) }
        options.liveMetrics = live
        defer { endpoint?.stop() }
        if let step { options.workerArguments = ["--step", step] }
        let run = FleetRun(spec: spec, path: fleet, options: options)
        do {
            try run.checkBeforeStart()
        } catch {
            throw ValidationError("\(error)")
        }
        if !quiet { FileHandle.standardError.write(Data("lwm2m-fleet run \(fleet): \(spec.deviceCount) devices, seed \(run.seed)\n".utf8)) }
        let report: FleetRun.Report
        do {
            report = try run.run()
        } catch let error as FleetSpecError {
            throw ValidationError("\(error)")
        }
        // A worker's stdout is its progress pipe; its parent reads the result file and prints.
        if !progressToStdout { printSummary(of: report) }
        let status = report.exitStatus
        if status != .passed { throw ExitCode(status.rawValue) }
    }

    /// The summary table, the embedded server's counts and where the result went, on stdout.
    private func printSummary(of report: FleetRun.Report) {
        let result = report.result
        print(SummaryTable.render(result.metrics, thresholds: result.thresholds, elapsedSeconds: report.elapsedSeconds))
        if let counts = result.metrics.embeddedServer { print("embedded server: \(counts.summaryLine)") }
        var notes: [String] = []
        if report.workers > 1 { notes.append("\(report.workers) workers merged") }
        switch result.metrics.endReason {
        case .interrupted?: notes.append("interrupted: exit \(RunExitStatus.endedEarly.rawValue)")
        case .durationLimit?: notes.append("duration-limit reached before the stages were done: exit \(RunExitStatus.endedEarly.rawValue)")
        case .completed?, nil: break
        }
        print("result: \(out)" + notes.map { " (\($0))" }.joined())
    }
}
