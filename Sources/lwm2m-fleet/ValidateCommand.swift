import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet validate`: checks fleet files without running them.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check fleet files without running them.",
        discussion: """
            Prints 'FILE: ok (N devices, M stages, K thresholds)' for each valid file (and the search it \
            asks for, with a search: section), and a warning on \
            standard error when duration-limit stops the run before its stages end. For an invalid one \
            it prints every problem on standard error as FILE:LINE:COLUMN: KEY: what is wrong and what \
            would be valid, and the exit status is 104.
            """
    )

    @Argument(help: "Fleet files (YAML).")
    var files: [String]

    func run() throws {
        var valid = true
        for file in files {
            do {
                let spec = try FleetSpec(contentsOfFile: file)
                for note in spec.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
                let search = spec.search == nil ? "" : "; search: \(spec.searchPlan.summary)"
                print("\(file): ok (\(counted(spec.deviceCount, "device")), \(counted(spec.stages.count, "stage")), \(counted(spec.thresholds.count, "threshold")))\(search)")
                if spec.durationLimitCutsStages, let limit = spec.durationLimitSeconds {
                    // Valid, but such a run always ends early (exit 105) with devices unfinished.
                    FileHandle.standardError.write(Data((
                        "\(file): warning: duration-limit \(limit.formatted()) s stops the run before its stages end at "
                            + "\(spec.stagesDurationSeconds.formatted()) s; the run will end early (exit 105)\n").utf8))
                }
            } catch {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                valid = false
            }
        }
        guard valid else { throw ExitCode(LwM2MFleet.invalidInputStatus) }
    }
}

/// `1 stage`, `2 stages`: a count with its noun.
func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
