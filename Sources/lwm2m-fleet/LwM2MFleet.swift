import ArgumentParser
import Fleet
import Foundation

/// The `lwm2m-fleet` command: a simulated LwM2M device fleet for load-testing LwM2M servers.
@main
struct LwM2MFleet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lwm2m-fleet",
        abstract: "Simulate thousands of LwM2M devices against an LwM2M Bootstrap-Server and Server.",
        discussion: """
            Exit status: 0 success; 99 a threshold failed (compare: B regressed beyond a tolerance; search: no load \
            was sustained); 104 invalid arguments or fleet file; 105 a run ended before its stages were done (search: \
            a partial answer); 1 undecodable input (decode) or a failure of the tool itself. Each subcommand's help \
            says more (lwm2m-fleet help run).
            """,
        version: ToolVersion.current,
        subcommands: [RunCommand.self, SearchCommand.self, ValidateCommand.self, ServeCommand.self, MergeCommand.self, CompareCommand.self, ReportCommand.self, DecodeCommand.self]
    )

    /// Exit status for a fleet file or arguments that are invalid (DESIGN.md, "Exit codes").
    static let invalidInputStatus: Int32 = 104

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as DecodeFailure {
            FileHandle.standardError.write(Data("lwm2m-fleet: \(failure)\n".utf8))
            Foundation.exit(1)
        } catch {
            if exitCode(for: error) == .validationFailure {
                // The error alone: a usage block after a message about a file's line 12 buries it.
                // A mistake in the command line itself gets a pointer to the help.
                var text = "Error: " + message(for: error)
                if !(error is ValidationError) { text += "\nSee 'lwm2m-fleet help' and 'lwm2m-fleet help <subcommand>'." }
                FileHandle.standardError.write(Data((text + "\n").utf8))
                Foundation.exit(invalidInputStatus)
            }
            exit(withError: error)
        }
    }
}
