import Foundation
import Synchronization

/// One `lwm2m-fleet search`: runs the fleet step by step at the loads `CapacitySearch` asks for,
/// judges each step (`SearchStep`), and returns the answer with every step, bounded in time and
/// ending with a partial answer on an interrupt. The command line only parses arguments and prints.
///
/// Each step is `lwm2m-fleet run FILE --step LOAD` in a child process of this binary: a run like
/// any other (its own embedded server, so each step starts with an empty registry, its workers,
/// its result file), which a user can replay with the same arguments. A fresh process per step
/// also keeps the generator of one step from inheriting the memory and sockets of the last.
public struct FleetSearch {
    /// How the search is carried out, from the command line.
    public struct Options: Sendable {
        public var outputPath: String
        /// This binary, started for each step.
        public var executable: URL
        /// Overrides the fleet file's seed; every step runs with the same one.
        public var seed: UInt64?
        /// Worker processes of each step; nil: as `run` decides.
        public var workers: Int?
        public var quiet = false
        /// No step starts that would not end within this many seconds of the search's start.
        public var maxDurationSeconds: Double?
        /// Where each step's result file is kept; nil: they are removed.
        public var keepStepsDirectory: String?

        public init(outputPath: String, executable: URL) {
            self.outputPath = outputPath
            self.executable = executable
        }
    }

    public let spec: FleetSpec
    /// The fleet file as the user named it.
    public let path: String
    public let options: Options
    public let plan: SearchPlan
    public let seed: UInt64

    public init(spec: FleetSpec, path: String, options: Options) {
        self.spec = spec
        self.path = path
        self.options = options
        plan = spec.searchPlan
        seed = options.seed ?? spec.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
    }

    /// The thresholds every step is judged by.
    public var thresholds: [String] { spec.searchStep(atLoad: plan.from, plan: plan).thresholds.map(\.text) }

    /// Checks what can be checked before the first step: the groups can be scaled, the plan
    /// makes sense, the result file and the steps' directory can be written. Throws
    /// `FleetRunError` with what to do.
    public func checkBeforeStart() throws {
        if let problem = spec.searchProblemsOfGroups.first {
            throw FleetRunError("\(path): devices[\(problem.group)].security.key-file: \(problem.problem)")
        }
        guard plan.to > plan.from else {
            throw FleetRunError("\(path): search from \(plan.text(ofLoad: plan.from)) to \(plan.text(ofLoad: plan.to)); give search.from below search.to")
        }
        try ResultFile.checkWritable(options.outputPath)
        if let directory = options.keepStepsDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw FleetRunError("--keep-steps \(directory): not a directory; create it first")
            }
            try ResultFile.checkWritable((directory as NSString).appendingPathComponent("step-01.json"))
        }
    }

    /// Runs the search and writes its result; `note` gets a line per step and the search's own
    /// news (for standard error). Throws only when the result cannot be written.
    public func run(note: (String) -> Void) throws -> SearchResult {
        let started = Date()
        let interrupts = SearchInterrupts()
        let sources = interrupts.watch()
        defer { sources.forEach { $0.cancel() } }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-fleet-search-\(UUID().uuidString)")
        let stepsDirectory = options.keepStepsDirectory.map { URL(fileURLWithPath: $0) } ?? temporary
        if options.keepStepsDirectory == nil { try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true) }
        defer { if options.keepStepsDirectory == nil { try? FileManager.default.removeItem(at: temporary) } }

        var search = CapacitySearch(configuration: CapacitySearch.Configuration(plan: plan))
        var steps: [SearchStep] = []
        var stoppedBy: String?
        var toolFailure: String?
        // Measured over estimated seconds of the last step: a slow server makes steps run longer.
        var slowdown = 1.0
        while case .run(let load, let phase) = search.next {
            if interrupts.count > 0 {
                stoppedBy = "interrupted"
                break
            }
            let step = spec.searchStep(atLoad: load, plan: plan)
            let estimate = Self.estimatedSeconds(of: step) * slowdown
            if let limit = options.maxDurationSeconds, Date().timeIntervalSince(started) + estimate > limit {
                note("search: the next step (\(plan.text(ofLoad: load)), about \(Int(estimate.rounded(.up)))s) would end after --max-duration; stopping")
                stoppedBy = "max-duration"
                break
            }
            let number = steps.count + 1
            // Workers enough for the step's sockets, or why this machine cannot run it.
            let workers: Result<Int?, StepRefused> = Result { try self.workers(for: step, outputPath: stepsDirectory.path) }
                .mapError { $0 as? StepRefused ?? StepRefused(reason: "\($0)") }
            let workersArgument = (try? workers.get()).flatMap { $0 }.map { " --workers \($0)" } ?? ""
            let replay = "lwm2m-fleet run \(path) --step \(plan.text(ofLoad: load).replacingOccurrences(of: " devices", with: "")) --seed \(seed)"
                + workersArgument
            note("step \(number) (\(phase.rawValue)): \(plan.text(ofLoad: load)), \(step.deviceCount) devices, about \(Int(estimate.rounded(.up)))s")
            let resultPath = stepsDirectory.appendingPathComponent(String(format: "step-%02d.json", number)).path
            let judged: SearchStep
            do {
                let stepStarted = Date()
                let result = try runStep(load: load, workers: try workers.get(), resultPath: resultPath, interrupts: interrupts)
                slowdown = max(1, Date().timeIntervalSince(stepStarted) / Self.estimatedSeconds(of: step))
                var record = SearchStep(number: number, phase: phase, load: load, step: step, plan: plan, result: result, replay: replay)
                if options.keepStepsDirectory != nil { record.resultFile = resultPath }
                judged = record
            } catch let refused as StepRefused {
                // This machine cannot run the step: as far as the generator goes, and no further.
                judged = SearchStep(
                    number: number, phase: phase, load: load, devices: step.deviceCount, verdict: .generatorLimited,
                    reasons: [refused.reason], generatorHealthy: false, replay: replay)
            } catch {
                toolFailure = "step \(number) at \(plan.text(ofLoad: load)): \(error)"
                stoppedBy = "tool-failure"
                note("search: \(toolFailure!)")
                break
            }
            steps.append(judged)
            note("step \(number): \(judged.progressLine(plan: plan))")
            guard let verdict = judged.verdict.searchVerdict else {
                stoppedBy = "interrupted"
                break
            }
            search.record(verdict, accepted: judged.accepted)
        }
        let answer: CapacityAnswer
        if case .finished(let found) = search.next { answer = found } else { answer = search.answer(stoppedBy: stoppedBy ?? "interrupted") }
        let formatter = ISO8601DateFormatter()
        let result = SearchResult(
            toolVersion: ToolVersion.current, seed: seed, spec: ResultFile.Spec(path: path, text: spec.text), plan: plan,
            thresholds: thresholds, startedAt: formatter.string(from: started), finishedAt: formatter.string(from: Date()),
            maxDurationSeconds: options.maxDurationSeconds, steps: steps, answer: answer, toolFailure: toolFailure)
        try result.write(to: options.outputPath)
        return result
    }

    /// About how long a step takes: its stages, the De-registers of its end at their pace, and a
    /// few seconds to start the processes and the embedded server.
    static func estimatedSeconds(of step: FleetSpec) -> Double {
        let end = step.end == .deregister
            ? Double(step.deviceCount) / max(step.endDeregistersPerSecond ?? step.arrivalSchedule.peakRate, 1) + 1 : 0
        return step.stagesDurationSeconds + end + 3
    }

    /// A step this machine cannot run (more sockets than a process may open), with why.
    struct StepRefused: Error {
        var reason: String
    }

    /// The workers a step runs with: `--workers` when given, else `run`'s default, or more when
    /// the default would hold more sockets in one process than it may open (each worker holds
    /// its stripe's), up to `run`'s 64; nil for `run`'s default. Throws `StepRefused` when even
    /// that is not enough: as far as this machine's generator goes.
    private func workers(for step: FleetSpec, outputPath: String) throws -> Int? {
        try Self.workers(given: options.workers) { candidate in
            var runOptions = FleetRun.Options(outputPath: outputPath + "/.probe.json", executable: options.executable)
            runOptions.workers = candidate
            do {
                try FleetRun(spec: step, path: path, options: runOptions).checkBeforeStart()
                return nil
            } catch let error as FleetRunError {
                return error.description
            }
        }
    }

    /// The first of `given` (when set) or `run`'s default then 4 to 64 workers that `refusal`
    /// has no objection to (nil: it fits).
    static func workers(given: Int?, refusal: (Int?) throws -> String?) throws -> Int? {
        let candidates: [Int?] = given.map { [$0] } ?? [nil, 4, 8, 16, 32, 64]
        var last = ""
        for candidate in candidates {
            guard let reason = try refusal(candidate) else { return candidate }
            last = reason
        }
        throw StepRefused(reason: "not run: \(last)")
    }

    /// Runs one step as `lwm2m-fleet run FILE --step LOAD` and reads its result.
    private func runStep(load: Double, workers: Int?, resultPath: String, interrupts: SearchInterrupts) throws -> ResultFile {
        var arguments = ["run", path, "--step", plan.text(ofLoad: load).replacingOccurrences(of: " devices", with: ""),
                         "--seed", "\(seed)", "--out", resultPath]
        if let workers { arguments += ["--workers", "\(workers)"] }
        if options.quiet { arguments.append("--quiet") }
        let child = Process()
        child.executableURL = options.executable
        child.arguments = arguments
        // The step's summary table is in its result; its progress and errors go to standard error.
        child.standardOutput = FileHandle.nullDevice
        try? FileManager.default.removeItem(atPath: resultPath)
        try child.run()
        interrupts.running(child.processIdentifier)
        child.waitUntilExit()
        interrupts.running(nil)
        do {
            return try ResultFile.read(from: resultPath)
        } catch {
            throw FleetRunError("the run ended with status \(child.terminationStatus) and left no result (\(error))")
        }
    }
}

/// The interrupts a search received, passed on to the step running: the first ends the step as
/// `run` ends on one (arrivals stop, devices De-register) and stops the search after it; a second
/// stops the step at once.
private final class SearchInterrupts: Sendable {
    private let state = Mutex<(count: Int, child: pid_t?)>((0, nil))

    var count: Int { state.withLock { $0.count } }

    /// Takes SIGINT and SIGTERM from the default action (which would end the search without its
    /// answer) to this object.
    func watch() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { [self] in received() }
            source.resume()
            return source
        }
    }

    private func received() {
        state.withLock { state in
            state.count += 1
            // A child process is in a process group of its own: a terminal's Ctrl-C does not reach it.
            if let child = state.child { kill(child, SIGINT) }
        }
    }

    /// The step's process now running (nil: none); one started after an interrupt is interrupted at once.
    func running(_ child: pid_t?) {
        state.withLock { state in
            state.child = child
            if let child, state.count > 0 { kill(child, SIGINT) }
        }
    }
}
