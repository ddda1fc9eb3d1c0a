import ArgumentParser

/// The `lwm2m-fleet` command: a simulated LwM2M device fleet for load-testing LwM2M servers.
@main
struct LwM2MFleet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lwm2m-fleet",
        abstract: "Simulate thousands of LwM2M devices against an LwM2M Bootstrap-Server and Server.",
        discussion: """
            Subcommands (run, serve, validate, report, merge) arrive with the fleet runner; \
            this build carries the event loop and the CoAP endpoint they stand on.
            """,
        version: ToolVersion.current
    )
}
