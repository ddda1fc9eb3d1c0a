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
            free ports), then a status line every second on standard error. SIGINT or SIGTERM stops \
            it with a final 'summary' line of counts. --violate makes the \
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

    /// Set by `run` (`EmbeddedServerProcess`): the whole configuration comes as JSON on standard
    /// input, and the ready and summary lines go out as JSON for it to read.
    @Flag(name: .customLong(String(EmbeddedServerProcess.configurationFromStdinFlag.dropFirst(2))), help: .hidden)
    var configurationFromStdin = false

    func validate() throws {
        do {
            _ = try SocketAddress(ipAddress: host, port: port)
        } catch {
            throw ValidationError("--host: \(error)")
        }
        _ = try afterRegistrationActions()
        if configurationFromStdin {
            // They would be ignored: the configuration read says it all.
            let given = [
                (option: "--config", given: config != nil), ("--violate", violate != nil), ("--lifetime", lifetime != nil),
                ("--read", !read.isEmpty), ("--observe", !observe.isEmpty), ("--execute", !execute.isEmpty),
            ].filter(\.given).map(\.option)
            guard given.isEmpty else {
                throw ValidationError(
                    "\(EmbeddedServerProcess.configurationFromStdinFlag) reads the whole configuration; leave out \(given.joined(separator: ", "))")
            }
        }
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

    /// The configuration the options give, for a server started by a person.
    func configurationFromOptions() throws -> EmbeddedServerConfiguration {
        var configuration = EmbeddedServerConfiguration(host: host, serverPort: port, bootstrapPort: bootstrapPort)
        if let config {
            do {
                configuration.bootstrap = try BootstrapServerConfiguration(contentsOfFile: config)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let lifetime { configuration.bootstrap.defaults.lifetimeSeconds = lifetime }
        configuration.registration.violation = switch violate {
        case .beforeAck?: .beforeAcknowledgement
        case .duringBootstrap?: .duringBootstrap
        case nil: nil
        }
        configuration.registration.expiryGraceSeconds = lifetimeGraceSeconds
        configuration.registration.afterRegistration = try afterRegistrationActions()
        return configuration
    }

    /// The configuration `run` wrote to standard input, all of it before closing it.
    func configurationFromStandardInput() throws -> EmbeddedServerConfiguration {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        do {
            return try JSONDecoder().decode(EmbeddedServerConfiguration.self, from: input)
        } catch {
            throw ValidationError("\(EmbeddedServerProcess.configurationFromStdinFlag): standard input holds no embedded server configuration (\(error))")
        }
    }

    /// Writes a report on standard output, unbuffered (a parent process waits for it on a pipe):
    /// JSON for the `run` that started this process, text for people.
    func write(_ report: EmbeddedServerReport) {
        let line = if configurationFromStdin {
            report.line
        } else {
            switch report {
            case .ready(let bootstrapAddress, let serverAddress, _): Data("ready bootstrap=\(bootstrapAddress) server=\(serverAddress)\n".utf8)
            case .summary(let counts): Data("summary \(counts.summaryLine)\n".utf8)
            }
        }
        FileHandle.standardOutput.write(line)
    }

    func run() throws {
        OpenFileLimit.raiseToHardLimit()
        let configuration = configurationFromStdin ? try configurationFromStandardInput() : try configurationFromOptions()
        let loop = try EventLoop()
        let driver = try ServerDriver(
            loop: loop, host: configuration.host, serverPort: configuration.serverPort, bootstrapPort: configuration.bootstrapPort,
            registrationConfiguration: configuration.registration, bootstrapConfiguration: configuration.bootstrap)
        driver.injectFaults(configuration.faults, seed: configuration.seed)
        if let restart = configuration.restart {
            let now = Date().timeIntervalSince1970
            driver.scheduleRestart(
                afterNanoseconds: restart.nanosecondsUntilRestart(runStartedAt: configuration.runStartedAt ?? now, wallClockNow: now),
                downNanoseconds: restart.downNanoseconds)
        }
        var status = EmbeddedServerCounts()
        var violatedEndpoints: Set<String> = []
        driver.observer = { event in
            status.count(event)
            if case .violationSent(_, let endpoint) = event { violatedEndpoints.insert(endpoint) }
        }
        let statusTag = ServerDriver.firstOwnerTag
        var last = status
        // Started by `run` for an embedded server: if that parent dies, this one must not linger.
        let parent = getppid()
        driver.install { tag, now in
            guard tag == statusTag else { return }
            if getppid() != parent { return loop.stop() }
            FileHandle.standardError.write(Data((status.statusLine(since: last, registrations: driver.registrationServer.registrationCount) + "\n").utf8))
            last = status
            _ = loop.schedule(at: now + 1_000_000_000, tag: statusTag)
        }
        try loop.watchSignals([SIGINT, SIGTERM])
        loop.signalReceived = { _ in loop.stop() }
        _ = loop.schedule(at: loop.now + 1_000_000_000, tag: statusTag)
        write(.ready(
            bootstrapAddress: "\(driver.bootstrapAddress)", serverAddress: "\(driver.serverAddress)",
            controlAddress: "\(driver.controlAddress)"))
        loop.run()
        status.registrationsHeld = driver.registrationServer.registrationCount
        status.retransmissions = driver.retransmissions
        status.registrationsLost = driver.registrationsLost
        status.devicesViolated = violatedEndpoints.count
        status.faults = driver.faultCounts
        write(.summary(status))
    }
}

extension EmbeddedServerCounts {
    /// Serve's status line: what changed in the last second, since `last`.
    func statusLine(since last: EmbeddedServerCounts, registrations: Int) -> String {
        "registrations=\(registrations) registered/s=\(registered - last.registered) updates/s=\(updated - last.updated) "
            + "bootstraps/s=\(bootstraps - last.bootstraps) errors=\(refused + bootstrapFailures)"
    }
}
