import ArgumentParser
import CoAP
import EventLoop
import Fleet
import Foundation
import LwM2M
import LwM2MServer

/// `lwm2m-fleet serve`: the embedded Bootstrap-Server and LwM2M Server.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the embedded LwM2M Bootstrap-Server and Server.",
        discussion: """
            Prints one line when ready, 'ready bootstrap=HOST:PORT server=HOST:PORT' (port 0 picks \
            free ports, so a parent process can read the real ones), then a status line every second \
            on standard error. SIGINT or SIGTERM stops it with a final summary. --violate makes the \
            server break the LwM2M rules on purpose, to check that clients detect it: 'before-ack' \
            sends Read/Observe before acknowledging a registration, 'during-bootstrap' sends devices \
            back to bootstrap and then Read/Observe while their bootstrap runs.
            """
    )

    /// The misbehaving modes (test aids).
    enum Violation: String, ExpressibleByArgument, CaseIterable {
        case beforeAck = "before-ack"
        case duringBootstrap = "during-bootstrap"
    }

    @Option(name: .long, help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "UDP port of the LwM2M Server (0: any free port).")
    var port: UInt16 = 5683

    @Option(name: .customLong("bootstrap-port"), help: "UDP port of the Bootstrap-Server (0: any free port).")
    var bootstrapPort: UInt16 = 5783

    @Option(name: .long, help: "Bootstrap-Server configuration (YAML): server URI, lifetime, steps per endpoint pattern.")
    var config: String?

    @Option(name: .long, help: "Break the rules on purpose: \(Violation.allCases.map(\.rawValue).joined(separator: " or ")).")
    var violate: Violation?

    @Option(name: .long, help: "Seconds before a silent registration expires, beyond its lifetime.")
    var lifetimeGraceSeconds: UInt32 = 5

    @Option(name: .long, help: "Registration lifetime in seconds that the Bootstrap-Server writes (overrides --config's default).")
    var lifetime: UInt32?

    @Option(name: .long, help: "After each registration is acknowledged, Read this path (repeatable), e.g. /3/0.")
    var read: [String] = []

    @Option(name: .long, help: "After each registration is acknowledged, Observe this path (repeatable), e.g. /3/0/9.")
    var observe: [String] = []

    @Option(name: .long, help: "After each first registration, Execute this path (repeatable); /1/0/9 sends devices back to bootstrap.")
    var execute: [String] = []

    func validate() throws {
        do {
            _ = try SocketAddress(ipAddress: host, port: port)
        } catch {
            throw ValidationError("--host: \(error)")
        }
        _ = try afterRegistrationActions()
    }

    /// The --read, --observe and --execute paths as after-registration actions.
    func afterRegistrationActions() throws -> [AfterRegistrationAction] {
        func path(_ text: String, _ option: String) throws -> LwM2MPath {
            do {
                return try LwM2MPath(parsing: text)
            } catch {
                throw ValidationError("--\(option): \(error)")
            }
        }
        return try read.map { AfterRegistrationAction(.read(try path($0, "read"))) }
            + observe.map { AfterRegistrationAction(.observe(try path($0, "observe"))) }
            + execute.map { AfterRegistrationAction(.execute(try path($0, "execute")), firstRegistrationOnly: true) }
    }

    func run() throws {
        OpenFileLimit.raiseToHardLimit()
        var bootstrapConfiguration = BootstrapServerConfiguration()
        if let config {
            do {
                bootstrapConfiguration = try BootstrapServerConfiguration(contentsOfFile: config)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let loop = try EventLoop()
        var registrationConfiguration = RegistrationServerConfiguration()
        registrationConfiguration.violation = switch violate {
        case .beforeAck?: .beforeAcknowledgement
        case .duringBootstrap?: .duringBootstrap
        case nil: nil
        }
        registrationConfiguration.expiryGraceSeconds = lifetimeGraceSeconds
        registrationConfiguration.afterRegistration = try afterRegistrationActions()
        if let lifetime { bootstrapConfiguration.defaults.lifetimeSeconds = lifetime }
        let driver = try ServerDriver(
            loop: loop, host: host, serverPort: port, bootstrapPort: bootstrapPort,
            registrationConfiguration: registrationConfiguration, bootstrapConfiguration: bootstrapConfiguration)
        var status = ServeStatus()
        driver.observer = { status.count($0) }
        let statusTag = ServerDriver.firstOwnerTag
        var last = status
        // Started by `run` for an embedded server: if that parent dies, this one must not linger.
        let parent = getppid()
        driver.install { tag, now in
            guard tag == statusTag else { return }
            if getppid() != parent { return loop.stop() }
            FileHandle.standardError.write(Data((status.line(since: last, registrations: driver.registrationServer.registrationCount) + "\n").utf8))
            last = status
            _ = loop.schedule(at: now + 1_000_000_000, tag: statusTag)
        }
        try loop.watchSignals([SIGINT, SIGTERM])
        loop.signalReceived = { _ in loop.stop() }
        _ = loop.schedule(at: loop.now + 1_000_000_000, tag: statusTag)
        // Written unbuffered: a parent process waits for this line on a pipe.
        FileHandle.standardOutput.write(Data("ready bootstrap=\(driver.bootstrapAddress) server=\(driver.serverAddress)\n".utf8))
        loop.run()
        let summary = status.summary(registrations: driver.registrationServer.registrationCount, retransmissions: driver.retransmissions)
        FileHandle.standardOutput.write(Data("summary \(summary)\n".utf8))
    }
}

/// Counts of what the servers did, for the status line and the final summary.
struct ServeStatus {
    var registered = 0
    var updated = 0
    var deregistered = 0
    var expired = 0
    var bootstrapsFinished = 0
    var bootstrapsFailed = 0
    var refused = 0
    var violationsSent = 0

    mutating func count(_ event: ServerEvent) {
        switch event {
        case .registered: registered += 1
        case .updated: updated += 1
        case .deregistered: deregistered += 1
        case .expired: expired += 1
        case .refused: refused += 1
        case .bootstrapFinished(_, let succeeded): if succeeded { bootstrapsFinished += 1 } else { bootstrapsFailed += 1 }
        case .violationSent: violationsSent += 1
        default: break
        }
    }

    func line(since last: ServeStatus, registrations: Int) -> String {
        "registrations=\(registrations) registered/s=\(registered - last.registered) updates/s=\(updated - last.updated) "
            + "bootstraps/s=\(bootstrapsFinished - last.bootstrapsFinished) errors=\(refused + bootstrapsFailed)"
    }

    func summary(registrations: Int, retransmissions: Int) -> String {
        "registrations=\(registrations) registered=\(registered) updated=\(updated) deregistered=\(deregistered) "
            + "expired=\(expired) bootstraps=\(bootstrapsFinished) bootstrap-failures=\(bootstrapsFailed) refused=\(refused) "
            + "violations-sent=\(violationsSent) retransmissions=\(retransmissions)"
    }
}
