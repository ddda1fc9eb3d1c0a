import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet search FLEET.yaml`: the highest load the server sustains within the file's thresholds.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the highest load a server sustains within the fleet file's thresholds (a capacity search).",
        discussion: """
            Runs the fleet's device profile in steps of growing load (arrival rate, or devices held, as the \
            file's search: section says; without one, settings derived from its busiest stage), each step a \
            run judged by the file's thresholds, with every device finishing and the generator healthy. Grows \
            geometrically to the first failure, narrows between the last pass and the first failure to the \
            search's precision, and repeats the best load once. A line per step goes to standard error; a table \
            of every step and the answer to standard output; the whole search (every step, the answer) to --out \
            as JSON. A first SIGINT/SIGTERM ends the running step as `run` ends on one and writes the partial \
            answer; a second stops the step at once.

            Exit status:
              0    an answer: the server's knee, or a lower bound where search.to or the generator came first
              99   no load was sustained: the lowest step failed, or no load passed its repeat
              104  the fleet file or the arguments are invalid, or --out cannot be written
              105  a partial answer: interrupted, or --max-duration left no time for the next step
              1    the tool itself failed (a step could not run or wrote no result)
            """
    )

    @Argument(help: "The fleet file (YAML); its search: section is described in the README and Sources/Fleet/SearchSpec.swift.")
    var fleet: String

    @Option(name: .long, help: "Where to write the search result JSON (checked writable before the first step).")
    var out: String = "search-result.json"

    @Option(name: .long, help: "Seed of every step (overrides the file's); `run FILE --step LOAD --seed SEED` replays a step.")
    var seed: UInt64?

    // Unconditional: `--workers -1` is a bad count to name, not a missing value.
    @Option(name: .long, parsing: .unconditional, help: "Worker processes of each step, as `run --workers`. Default: as run decides.")
    var workers: Int?

    @Option(
        name: .customLong("max-duration"),
        help: "Start no step that would end later than this after the search's start (such as 10m or 1h); the answer so far is then partial.",
        transform: { text in
            guard let seconds = FleetSpec.seconds(inDuration: text), seconds > 0 else {
                throw ValidationError("--max-duration '\(text)' is not valid; give a duration such as 10m, 600s or 1h")
            }
            return seconds
        })
    var maxDuration: Double?

    @Option(name: .customLong("keep-steps"), help: "Keep each step's run result file in this directory (step-01.json, ...).")
    var keepSteps: String?

    @Flag(name: .long, help: "No progress lines: neither the steps' nor the search's.")
    var quiet = false

    func validate() throws {
        if let workers {
            guard workers >= 1, workers <= 64 else { throw ValidationError("--workers must be 1 to 64, got \(workers)") }
        }
    }

    func run() throws {
        let spec: FleetSpec
        do {
            spec = try FleetSpec(contentsOfFile: fleet)
        } catch {
            throw ValidationError("\(error)")
        }
        var options = FleetSearch.Options(outputPath: out, executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
        options.seed = seed
        options.workers = workers
        options.quiet = quiet
        options.maxDurationSeconds = maxDuration
        options.keepStepsDirectory = keepSteps
        let search = FleetSearch(spec: spec, path: fleet, options: options)
        do {
            try search.checkBeforeStart()
        } catch {
            throw ValidationError("\(error)")
        }
        let note = { (line: String) in
            if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        for fileNote in spec.notes { note("note: \(fileNote)") }
        note("lwm2m-fleet search \(fleet): \(search.plan.summary), seed \(search.seed)")
        if !search.plan.defaultsUsed.isEmpty { note("search: defaults used: " + search.plan.defaultsUsed.joined(separator: "; ")) }
        note("search: each step passes on " + search.thresholds.joined(separator: ", ") + ", every device finished and the generator healthy")
        let result = try search.run(note: note)
        print(SearchSummaryTable.render(result))
        print("result: \(out)")
        let status = result.exitStatus
        if status != 0 { throw ExitCode(status) }
    }
}
