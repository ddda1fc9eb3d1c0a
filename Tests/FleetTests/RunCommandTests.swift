import Fleet
import Foundation
import XCTest

/// `lwm2m-fleet run` end to end on 127.0.0.1: the built binary, a fleet file, its exit status,
/// its result file, and the embedded (or a separately started) server's own counts.
final class RunCommandTests: XCTestCase {
    struct Run {
        var status: Int32
        var output: String
        var result: ResultFile?
        /// Standard error, when the run was asked to show its progress.
        var progress: [String] = []
    }

    private func fleetFile(_ yaml: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Runs the fleet; `interruptAfter` sends SIGINT after that many seconds; `showingProgress`
    /// leaves out `--quiet` and collects standard error.
    func run(_ yaml: String, interruptAfter: Double? = nil, showingProgress: Bool = false, extraArguments: [String] = []) throws -> Run {
        let file = try fleetFile(yaml)
        let out = file + ".result.json"
        let errors = file + ".stderr"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["run", file, "--out", out] + (showingProgress ? [] : ["--quiet"]) + extraArguments
        let pipe = Pipe()
        process.standardOutput = pipe
        if showingProgress {
            // A file, not a pipe: nothing to read while the test waits on standard output.
            XCTAssertTrue(FileManager.default.createFile(atPath: errors, contents: nil))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        if let interruptAfter {
            Thread.sleep(forTimeInterval: interruptAfter)
            process.interrupt()
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let result = ResultSchema.read(out)
        try? FileManager.default.removeItem(atPath: out)
        let progress = (try? String(contentsOfFile: errors, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        try? FileManager.default.removeItem(atPath: errors)
        return Run(status: process.terminationStatus, output: output, result: result, progress: progress)
    }

    /// The numbers of the embedded server's summary line, by name.
    func serverCounts(_ output: String) -> [String: Int] {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("embedded server: ") }) else { return [:] }
        var counts: [String: Int] = [:]
        for field in line.dropFirst("embedded server: ".count).split(separator: " ") {
            let parts = field.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { counts[String(parts[0])] = value }
        }
        return counts
    }

    func testTwoThousandDevicesBootstrapRegisterAndDeregisterAsTheServerCounts() throws {
        let run = try run("""
            seed: 7
            server: embedded
            devices:
              - count: 2000
                bootstrap: client-initiated
                lifetime: 300s
            stages:
              - { duration: 2s, rate: 1000/s }
              - { duration: 1s, hold: true }
            thresholds:
              - register.failed.rate == 0
              - server.bootstraps == 2000
              - server.bootstrap_failures == 0
            """)
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        XCTAssertEqual(run.result?.thresholds.map(\.passed), [true, true, true])
        // The server's side is in the result file too.
        XCTAssertEqual(metrics.value(for: "server.registered"), metrics.value(for: "register.succeeded"))
        XCTAssertEqual(metrics.value(for: "server.registrations_held"), 0)
        XCTAssertEqual(metrics.value(for: "bootstrap.succeeded"), 2_000)
        XCTAssertEqual(metrics.value(for: "register.succeeded"), 2_000)
        XCTAssertEqual(metrics.value(for: "deregister.succeeded"), 2_000)
        XCTAssertEqual(metrics.value(for: "dropped"), 0)
        let server = serverCounts(run.output)
        XCTAssertEqual(server["bootstraps"], 2_000, run.output)
        XCTAssertEqual(server["registered-total"], Int(metrics.value(for: "register.succeeded") ?? -1))
        XCTAssertEqual(server["deregistered"], Int(metrics.value(for: "deregister.succeeded") ?? -1))
        XCTAssertEqual(server["updated"], Int(metrics.value(for: "update.succeeded") ?? -1))
        XCTAssertEqual(server["held-now"], 0, "nothing left registered")
        XCTAssertEqual(run.result?.seed, 7)
        XCTAssertFalse(run.result?.interrupted ?? true)
    }

    func testImpossibleThresholdExits99AndLooseOneExits0() throws {
        let fleet = { (threshold: String) in """
            server: embedded
            devices:
              - count: 20
            stages:
              - { duration: 1s, rate: 20/s }
            thresholds:
              - \(threshold)
            """ }
        let strict = try run(fleet("register.latency.p99 < 1us"))
        XCTAssertEqual(strict.status, 99, strict.output)
        XCTAssertEqual(strict.result?.thresholds.first?.passed, false)
        XCTAssertTrue(strict.output.contains("FAIL"), strict.output)
        let loose = try run(fleet("register.latency.p99 < 10s"))
        XCTAssertEqual(loose.status, 0, loose.output)
        XCTAssertEqual(loose.result?.thresholds.first?.passed, true)
    }

    func testInterruptWritesResultsAndLeavesNoRegistration() throws {
        let run = try run("""
            server: embedded
            devices:
              - count: 200
                lifetime: 300s
            stages:
              - { duration: 1s, rate: 200/s }
              - { duration: 60s, hold: true }
            """, interruptAfter: 3)
        XCTAssertEqual(run.status, 105, "a run cut short never exits 0: \(run.output)")
        let result = try XCTUnwrap(run.result, "the result file is written: \(run.output)")
        XCTAssertTrue(result.interrupted)
        XCTAssertEqual(result.metrics.value(for: "register.succeeded"), 200)
        XCTAssertEqual(result.metrics.value(for: "deregister.succeeded"), 200, "registered devices deregister within the grace")
        XCTAssertEqual(serverCounts(run.output)["held-now"], 0, run.output)
    }

    func testViolationsOfAMisbehavingServerFailTheThreshold() throws {
        let serve = try ServeProcess(arguments: ["--violate", "before-ack"])
        let run = try run("""
            server: { server: coap://127.0.0.1:\(serve.serverAddress.port) }
            devices:
              - count: 30
            stages:
              - { duration: 1s, rate: 30/s }
              - { duration: 1s, hold: true }
            thresholds:
              - violations == 0
            """)
        _ = serve.stop()
        XCTAssertEqual(run.status, 99, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "violations"), 60, "a Read and an Observe before each acknowledgement")
        XCTAssertEqual(run.result?.metrics.value(for: "devices.with_violations"), 30, "caught on every device")
        XCTAssertTrue(run.output.contains("(on 30 devices)"), run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "register.succeeded"), 30)
    }

    func testAHostNameABootstrapServerWritesIsResolvedAndTheDevicesRegister() throws {
        // This machine's own name, which its hosts file maps to a loopback address.
        let name = ProcessInfo.processInfo.hostName
        guard Host(name: name).addresses.contains(where: { $0.hasPrefix("127.") }) else {
            throw XCTSkip("'\(name)' does not resolve to a loopback address here")
        }
        let registrar = try ServeProcess()
        let configuration = try fleetFile("server-uri: coap://\(name):\(registrar.serverAddress.port)\n")
        defer { try? FileManager.default.removeItem(atPath: configuration) }
        let bootstrapServer = try ServeProcess(arguments: ["--config", configuration])
        let run = try run("""
            server: { bootstrap: coap://127.0.0.1:\(bootstrapServer.bootstrapAddress.port) }
            devices:
              - count: 20
                bootstrap: client-initiated
            stages:
              - { duration: 1s, rate: 20/s }
              - { duration: 1s, hold: true }
            thresholds:
              - register.failed.rate == 0
            """)
        _ = bootstrapServer.stop()
        _ = registrar.stop()
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        XCTAssertEqual(metrics.value(for: "register.succeeded"), 20, run.output)
        XCTAssertEqual(metrics.value(for: "register.retransmissions"), 0, "the Register waited for the lookup, none was lost")
        XCTAssertEqual(metrics.connectionFailures, [:])
    }

    func testAHostNameThatDoesNotResolveFailsAsAConnectionFailureOfTheDevice() throws {
        let configuration = try fleetFile("server-uri: coap://no-such-host.invalid:5683\n")
        defer { try? FileManager.default.removeItem(atPath: configuration) }
        let bootstrapServer = try ServeProcess(arguments: ["--config", configuration])
        let run = try run("""
            server: { bootstrap: coap://127.0.0.1:\(bootstrapServer.bootstrapAddress.port) }
            devices:
              - count: 5
                bootstrap: client-initiated
            stages:
              - { duration: 1s, rate: 5/s }
              - { duration: 1s, hold: true }
            """)
        _ = bootstrapServer.stop()
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        XCTAssertEqual(metrics.value(for: "register.failed"), 5, run.output)
        XCTAssertEqual(metrics.value(for: "register.timeouts"), 0, "a name that does not resolve is no silent server")
        XCTAssertEqual(metrics.connectionFailures.values.reduce(0, +), 5, "\(metrics.connectionFailures)")
        XCTAssertTrue(metrics.connectionFailures.keys.allSatisfy { $0.contains("resolve \"no-such-host.invalid\"") },
                      "\(metrics.connectionFailures)")
        XCTAssertTrue(run.output.contains("no-such-host.invalid"), "the summary names the failure: \(run.output)")
    }

    func testEveryFleetFileValidates() throws {
        let fleets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fleets")
        let files = try FileManager.default.contentsOfDirectory(atPath: fleets.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 7)
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["validate"] + files.map { fleets.appendingPathComponent($0).path }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testTwoWorkersCountWhatOneProcessCountsAndMergeHistogramsExactly() throws {
        let fleet = """
            seed: 11
            server: embedded
            devices:
              - count: 400
                bootstrap: client-initiated
            stages:
              - { duration: 2s, rate: 200/s }
              - { duration: 1s, hold: true }
            """
        let one = try run(fleet, extraArguments: ["--workers", "1"])
        let two = try run(fleet, extraArguments: ["--workers", "2"])
        XCTAssertEqual(one.status, 0, one.output)
        XCTAssertEqual(two.status, 0, two.output)
        let single = try XCTUnwrap(one.result?.metrics)
        let merged = try XCTUnwrap(two.result?.metrics)
        for metric in ["bootstrap.succeeded", "register.succeeded", "deregister.succeeded", "arrivals"] {
            XCTAssertEqual(merged.value(for: metric), single.value(for: metric), metric)
        }
        XCTAssertEqual(merged.value(for: "register.succeeded"), 400)
        XCTAssertEqual(merged.operations["register"]?.latency.count, 400, "the merged histogram holds both workers' samples")
        XCTAssertEqual(one.result?.workers, 1)
        XCTAssertEqual(two.result?.workers, 2)
        XCTAssertEqual(serverCounts(two.output)["registered-total"], 400, two.output)
        XCTAssertEqual(merged.value(for: "server.registered"), 400, "the parent's server counts reach the merged result")
    }

    func testServerInitiatedBootstrapsRunEndToEndWellWithinTheHoldOffWithOneProcessOrTwoWorkers() throws {
        let fleet = """
            seed: 17
            server: embedded
            devices:
              - count: 300
                endpoint: "wait-{index:04}"
                bootstrap: server-initiated
            stages:
              - { duration: 2s, rate: 150/s }
              - { duration: 1s, hold: true }
            """
        for workers in ["1", "2"] {
            let run = try run(fleet, extraArguments: ["--workers", workers])
            XCTAssertEqual(run.status, 0, "--workers \(workers): \(run.output)")
            let metrics = try XCTUnwrap(run.result?.metrics, run.output)
            XCTAssertEqual(metrics.value(for: "bootstrap.succeeded"), 300, "--workers \(workers)")
            XCTAssertEqual(metrics.value(for: "bootstrap-fallback.count"), 0, "--workers \(workers): no hold-off ran out")
            // From the arrival to Bootstrap-Finish, where a fallback takes the 3 s hold-off and more.
            XCTAssertLessThan(try XCTUnwrap(metrics.value(for: "bootstrap.latency.p99")), 1e9, "--workers \(workers)")
            XCTAssertEqual(metrics.value(for: "register.succeeded"), 300, "--workers \(workers)")
            XCTAssertEqual(metrics.value(for: "server.bootstraps"), 300, "--workers \(workers)")
            XCTAssertEqual(serverCounts(run.output)["bootstraps"], 300, run.output)
            XCTAssertEqual(metrics.value(for: "violations"), 0, "--workers \(workers)")
        }
    }

    func testTwoWorkersShowOneProgressLineForTheWholeFleet() throws {
        let run = try run("""
            seed: 11
            server: embedded
            devices:
              - count: 400
            stages:
              - { duration: 2s, rate: 200/s }
              - { duration: 1s, hold: true }
            """, showingProgress: true, extraArguments: ["--workers", "2"])
        XCTAssertEqual(run.status, 0, run.output)
        let lines = run.progress.filter { $0.contains(" arrivals ") }
        XCTAssertGreaterThanOrEqual(lines.count, 3, run.progress.joined(separator: "\n"))
        XCTAssertFalse(run.progress.contains { $0.hasPrefix("shard ") }, "no worker shows a line of its own: \(run.progress)")
        // The first two seconds start 200 devices each, half in each worker: the line shows them all.
        let numbers = { (line: String, label: String) -> Double? in
            guard let range = line.range(of: " \(label) ") else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        }
        for line in lines.prefix(2) {
            XCTAssertTrue(line.contains(" stage 1/2 "), line)
            XCTAssertEqual(try XCTUnwrap(numbers(line, "arrivals")), 200, accuracy: 20, line)
            XCTAssertTrue(line.contains("(target 200/s)"), line)
        }
        XCTAssertEqual(lines.compactMap { numbers($0, "registered") }.max(), 400, lines.joined(separator: "\n"))
    }

    func testShardsMergeIntoOneResult() throws {
        let fleet = """
            seed: 5
            server: embedded
            devices:
              - count: 60
            stages:
              - { duration: 1s, rate: 60/s }
            thresholds:
              - register.failed.rate == 0
            """
        let file = try fleetFile(fleet)
        var parts: [String] = []
        for shard in 0..<3 {
            let out = file + ".shard\(shard).json"
            let process = Process()
            process.executableURL = ServeProcess.executable
            process.arguments = ["run", file, "--shard", "\(shard)/3", "--out", out, "--quiet"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
            ResultSchema.assertValid(file: out)
            parts.append(out)
        }
        let merged = file + ".merged.json"
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["merge"] + parts + ["--out", merged]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        ResultSchema.assertValid(file: merged)
        let result = try ResultFile.read(from: merged)
        XCTAssertEqual(result.metrics.value(for: "register.succeeded"), 60)
        XCTAssertEqual(result.thresholds.first?.passed, true)
        for path in parts + [merged, file] { try? FileManager.default.removeItem(atPath: path) }
    }

    func testChurnDeregistersAndBringsDevicesBack() throws {
        let run = try run("""
            seed: 9
            server: embedded
            devices:
              - count: 100
                lifetime: 300s
            stages:
              - { duration: 1s, rate: 100/s }
              - { duration: 4s, hold: true, churn: 600%/min }
            """)
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        // 10% a second for about 3 s: some 20-40 devices leave and register again.
        let registers = metrics.value(for: "register.succeeded") ?? 0
        XCTAssertGreaterThan(registers, 115, "churned devices register again")
        XCTAssertEqual(metrics.value(for: "deregister.succeeded"), registers, "every registration ends in a De-register")
        XCTAssertEqual(serverCounts(run.output)["held-now"], 0, run.output)
        XCTAssertEqual(metrics.returns, UInt64(registers) - 100, "each Register past the first hundred is a return")
        XCTAssertEqual(metrics.arrivals, 100)
        XCTAssertEqual(metrics.devicesByState, ["stopped": 100], "a return is the same device, counted once")
        // A returning device is a rebooted one: new message IDs and tokens, so the server never
        // answers it from the duplicate cache of its last life (which would show as 2.04 to a
        // De-register or 2.02 to a Register).
        XCTAssertEqual(metrics.operations["register"]?.responseCodes, ["2.01": UInt64(registers)])
        XCTAssertEqual(metrics.operations["deregister"]?.responseCodes, ["2.02": UInt64(registers)])
    }

    /// The seed change request: a Bootstrap-Request Trigger sends registered devices back to
    /// bootstrap while the Server keeps reading and observing them. Every such request is caught.
    func testRebootstrapUnderObservationCountsEveryRequestTheServerSentAgainstTheRule() throws {
        let run = try run("""
            seed: 17
            server:
              embedded:
                read: [/3/0]
                observe: [/3/0/9]
                violate: during-bootstrap
            devices:
              - count: 100
                bootstrap: client-initiated
                lifetime: 120s
            stages:
              - { duration: 1s, rate: 100/s }
              - { duration: 3s, hold: true }
            thresholds:
              - violations == 200
            """)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(serverCounts(run.output)["violations-sent"], 200, "the server's count of early requests: \(run.output)")
        XCTAssertEqual(serverCounts(run.output)["devices-violated"], 100, "every device got both: \(run.output)")
        XCTAssertTrue(run.output.contains("(on 100 devices of the 100 the embedded server broke the rule on)"), run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "bootstrap.succeeded"), 200, "every device bootstrapped twice")
        XCTAssertEqual(run.result?.metrics.value(for: "register.succeeded"), 200)
        XCTAssertEqual(run.result?.metrics.violationsByKind["read while bootstrapping"], 100)
        XCTAssertEqual(run.result?.metrics.violationsByKind["observe while bootstrapping"], 100)
    }

    /// `run` hands the fleet's embedded-server settings to its `serve` child: the group's lifetime
    /// reaches the devices through the Bootstrap-Server, and the Server reads what the file asks.
    func testEmbeddedServerChildAppliesTheFleetsLifetimeAndRequests() throws {
        let run = try run("""
            seed: 3
            server:
              embedded:
                read: [/3/0]
            devices:
              - count: 20
                bootstrap: client-initiated
                lifetime: 4s
            stages:
              - { duration: 1s, rate: 20/s }
              - { duration: 3s, hold: true }
            """)
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        XCTAssertEqual(metrics.value(for: "read.succeeded"), 20, "the Server's Read /3/0 after each registration")
        XCTAssertGreaterThanOrEqual(metrics.value(for: "update.succeeded") ?? 0, 20, "a 4 s lifetime, not the default 300 s: each device updated")
        XCTAssertEqual(serverCounts(run.output)["updated"], Int(metrics.value(for: "update.succeeded") ?? -1), run.output)
        XCTAssertEqual(run.result?.metrics.embeddedServer?.updated, serverCounts(run.output)["updated"], "the printed line renders the counts")
    }

    func testDevicesSpreadOverSeveralLocalAddresses() throws {
        let run = try run("""
            server: embedded
            devices:
              - count: 60
                local-addresses: [127.0.0.2, 127.0.0.3]
            stages:
              - { duration: 1s, rate: 60/s }
              - { duration: 1s, hold: true }
            thresholds:
              - register.failed.rate == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "register.succeeded"), 60)
        XCTAssertEqual(serverCounts(run.output)["registered-total"], 60)
    }

    func testDevicesWithASessionDeregisterAndLeaveWhileTheRunGoesOn() throws {
        let run = try run("""
            seed: 11
            server: embedded
            devices:
              - count: 400
                session: 500ms
            stages:
              - { duration: 2s, rate: 200/s }
              - { duration: 2s, hold: true }
            thresholds:
              - register.failed.rate == 0
              - arrivals.rate_error < 5%
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        XCTAssertEqual(metrics.value(for: "register.succeeded"), 400)
        XCTAssertEqual(metrics.value(for: "deregister.succeeded"), 400)
        XCTAssertEqual(serverCounts(run.output)["deregistered"], 400, run.output)
        // The last arrival is due at 2 s and leaves half a second after registering: at 3 s into
        // the hold nobody is registered any more, although the run only ends at 4 s.
        let third = try XCTUnwrap(metrics.timeSeries.dropFirst(2).first, "\(metrics.timeSeries.count) points")
        XCTAssertEqual(third.registeredDevices, 0)
        XCTAssertEqual(third.devicesByState["stopped"], 400)
        XCTAssertEqual(metrics.stages.first?.arrivalsIntended, 400)
        // Per stage and per second, every operation adds up to the run's totals: the end (stage
        // 2, after the stages) is listed though nothing ended in it.
        XCTAssertEqual(metrics.stages.map(\.index), [0, 1, 2])
        XCTAssertEqual(metrics.stages.reduce(0) { $0 + ($1.operations["register"]?.count ?? 0) }, 400)
        XCTAssertEqual(metrics.stages.reduce(0) { $0 + ($1.operations["deregister"]?.count ?? 0) }, 400)
        XCTAssertGreaterThan(metrics.stages[0].operations["register"]?.count ?? 0, 300, "registered while arriving")
        XCTAssertGreaterThan(metrics.stages[1].operations["deregister"]?.count ?? 0, 0, "the last arrivals' sessions end in the hold")
        XCTAssertEqual(metrics.timeSeries.reduce(0) { $0 + $1.completed("deregister") }, 400)
        XCTAssertEqual(metrics.timeSeries.reduce(0) { $0 + ($1.window(of: "register")?.latency.count ?? 0) }, 400)
        XCTAssertEqual(metrics.timeSeries.reduce(0) { $0 + $1.loopLag.count }, metrics.loopLag.count)
        XCTAssertLessThan(metrics.value(for: "arrival_lateness.p99") ?? .infinity, 1e9)
    }

    func testRepeatingSessionsCycleOnTheirOwnSocketsAndEndDeregistered() throws {
        let run = try run("""
            seed: 12
            server: embedded
            devices:
              - count: 50
                lifetime: 1s
                session: 600ms
                session-repeat: true
            stages:
              - { duration: 1s, rate: 50/s }
              - { duration: 2s, hold: true }
            thresholds:
              - register.failed.rate == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        // About 2.5 s online each at one cycle per 0.6 s: three to five Registers per device.
        let registers = try XCTUnwrap(metrics.value(for: "register.succeeded"))
        XCTAssertGreaterThanOrEqual(registers, 150)
        XCTAssertGreaterThan(try XCTUnwrap(metrics.value(for: "update.succeeded")), 100, "each session has its Update")
        XCTAssertEqual(metrics.value(for: "deregister.succeeded"), registers, "every cycle and the end deregister")
        XCTAssertEqual(metrics.returns, 0, "cycling is not churn: same device, same socket")
        XCTAssertEqual(serverCounts(run.output)["held-now"], 0, run.output)
    }

    func testAFleetThatCannotFitTheOpenFileLimitIsRefusedBeforeItStarts() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        // One socket per device: this many devices cannot fit even the hard limit.
        let count = min(Int(limit.rlim_max), 10_000_000)
        let file = try fleetFile("""
            server: embedded
            devices:
              - count: \(count)
            stages:
              - { duration: 1s, rate: \(count)/s }
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["run", file, "--workers", "1", "--quiet"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 104, message)
        XCTAssertTrue(message.contains("holds up to \(count) sockets at once"), message)
        XCTAssertTrue(message.contains("--workers"), "says what to do: \(message)")
    }
}
