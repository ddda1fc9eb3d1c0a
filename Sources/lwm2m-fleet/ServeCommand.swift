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

            --dtls-port and --bootstrap-dtls-port (either turns DTLS on; the other then picks a free \
            port unless given) add a coaps:// socket to each server, DTLS 1.2 with pre-shared keys; \
            the ready line then ends 'dtls-bootstrap=HOST:PORT dtls-server=HOST:PORT'. The keys come \
            from exactly one of --psk-file (a CSV of IDENTITY,KEY-HEX lines) or --psk-secret (each \
            identity's key is HMAC-SHA256(secret, identity) cut to 16 bytes). Where the \
            Bootstrap-Server writes a PSK account (for run's groups with security:), it sends the \
            device to the coaps:// LwM2M Server with its endpoint name as identity, and a key the \
            servers derive from --psk-secret (with --psk-file, from a secret drawn at start).
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

    @Option(name: .customLong("dtls-port"), help: "UDP port of the LwM2M Server's coaps:// socket (0: any free port); turns DTLS on.")
    var dtlsPort: UInt16?

    @Option(name: .customLong("bootstrap-dtls-port"), help: "UDP port of the Bootstrap-Server's coaps:// socket (0: any free port); turns DTLS on.")
    var bootstrapDTLSPort: UInt16?

    @Option(name: .customLong("psk-file"), help: "With DTLS: the pre-shared keys, a CSV of IDENTITY,KEY-HEX lines.")
    var pskFile: String?

    @Option(name: .customLong("psk-secret"), help: "With DTLS: every identity's key is derived from this secret (HMAC-SHA256, 16 bytes).")
    var pskSecret: String?

    @OptionGroup var metrics: MetricsOptions

    @Option(name: .long, help: "Bootstrap-Server configuration (YAML): server URI, lifetime, binding, the bootstrap steps, per endpoint pattern; fleets/serve/bootstrap-config.yaml documents every key.")
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
        let dtlsOn = dtlsPort != nil || bootstrapDTLSPort != nil
        switch (pskFile, pskSecret) {
        case (nil, nil) where dtlsOn:
            throw ValidationError("--dtls-port and --bootstrap-dtls-port need the keys: give --psk-file CSV or --psk-secret TEXT")
        case (_?, _?):
            throw ValidationError("--psk-file and --psk-secret both give the keys: give one of them")
        case (_?, nil), (nil, _?):
            guard dtlsOn else {
                throw ValidationError("\(pskFile != nil ? "--psk-file" : "--psk-secret") is for DTLS: give --dtls-port or --bootstrap-dtls-port too (0 picks a free port)")
            }
            if pskSecret?.isEmpty == true { throw ValidationError("--psk-secret is empty; give the text the keys derive from") }
        case (nil, nil):
            break
        }
        if configurationFromStdin {
            // They would be ignored: the configuration read says it all.
            let given = [
                (option: "--config", given: config != nil), ("--violate", violate != nil), ("--lifetime", lifetime != nil),
                ("--read", !read.isEmpty), ("--observe", !observe.isEmpty), ("--execute", !execute.isEmpty),
                ("--dtls-port", dtlsPort != nil), ("--bootstrap-dtls-port", bootstrapDTLSPort != nil),
                ("--psk-file", pskFile != nil), ("--psk-secret", pskSecret != nil),
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
        configuration.dtls = dtlsConfigurationFromOptions()
        return configuration
    }

    /// The DTLS side the options give; nil without --dtls-port and --bootstrap-dtls-port.
    func dtlsConfigurationFromOptions() -> EmbeddedDTLSConfiguration? {
        guard dtlsPort != nil || bootstrapDTLSPort != nil else { return nil }
        var dtls: EmbeddedDTLSConfiguration
        if let pskFile {
            // The file names its identities; the accounts the Bootstrap-Server writes need a
            // secret of their own, which lives as long as this process.
            let path = URL(fileURLWithPath: pskFile).standardizedFileURL.path
            var random = SystemRandomNumberGenerator()
            dtls = EmbeddedDTLSConfiguration(
                groupKeys: [.init(identityPrefix: "", identityIndexWidth: 0, source: .file(path: path))],
                accountSecret: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
        } else {
            dtls = EmbeddedDTLSConfiguration(accountSecret: Array((pskSecret ?? "").utf8))
        }
        dtls.serverPort = dtlsPort ?? 0
        dtls.bootstrapPort = bootstrapDTLSPort ?? 0
        return dtls
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
            case .ready(let bootstrapAddress, let serverAddress, _, let dtlsBootstrapAddress, let dtlsServerAddress):
                Data(("ready bootstrap=\(bootstrapAddress) server=\(serverAddress)"
                    + (dtlsBootstrapAddress.map { " dtls-bootstrap=\($0)" } ?? "") + (dtlsServerAddress.map { " dtls-server=\($0)" } ?? "")
                    + "\n").utf8)
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
            registrationConfiguration: configuration.registration, bootstrapConfiguration: configuration.bootstrap,
            dtls: configuration.dtls)
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
        /// The counts so far with what only the driver knows, as the summary gives them at the end.
        func snapshot() -> EmbeddedServerCounts {
            var counts = status
            counts.registrationsHeld = driver.registrationServer.registrationCount
            counts.retransmissions = driver.retransmissions
            counts.registrationsLost = driver.registrationsLost
            counts.devicesViolated = violatedEndpoints.count
            counts.faults = driver.faultCounts
            counts.handshakes = driver.handshakesCompleted
            counts.handshakesResumed = driver.handshakesResumed
            if configuration.dtls != nil {
                counts.handshakeFailures = driver.handshakeFailures.values.reduce(0, +)
                counts.handshakeFailureReasons = driver.handshakeFailures
            }
            return counts
        }
        let live = metrics.metricsPort.map { _ in LiveMetrics() }
        let endpoint = try live.flatMap { try metrics.startEndpoint(serving: $0) }
        defer { endpoint?.stop() }
        let statusTag = ServerDriver.firstOwnerTag
        var last = status
        // Started by `run` for an embedded server: if that parent dies, this one must not linger.
        let parent = getppid()
        driver.install { tag, now in
            guard tag == statusTag else { return }
            if getppid() != parent { return loop.stop() }
            FileHandle.standardError.write(Data((status.statusLine(since: last, registrations: driver.registrationServer.registrationCount) + "\n").utf8))
            live?.record(server: snapshot())
            last = status
            _ = loop.schedule(at: now + 1_000_000_000, tag: statusTag)
        }
        try loop.watchSignals([SIGINT, SIGTERM])
        loop.signalReceived = { _ in loop.stop() }
        _ = loop.schedule(at: loop.now + 1_000_000_000, tag: statusTag)
        write(.ready(
            bootstrapAddress: "\(driver.bootstrapAddress)", serverAddress: "\(driver.serverAddress)",
            controlAddress: "\(driver.controlAddress)", dtlsBootstrapAddress: driver.dtlsBootstrapAddress.map { "\($0)" },
            dtlsServerAddress: driver.dtlsServerAddress.map { "\($0)" }))
        loop.run()
        write(.summary(snapshot()))
    }
}

extension EmbeddedServerCounts {
    /// Serve's status line: what changed in the last second, since `last`.
    func statusLine(since last: EmbeddedServerCounts, registrations: Int) -> String {
        "held-now=\(registrations) registered/s=\(registered - last.registered) updates/s=\(updated - last.updated) "
            + "bootstraps/s=\(bootstraps - last.bootstraps) errors=\(refused + bootstrapFailures)"
    }
}
