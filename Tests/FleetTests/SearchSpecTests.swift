import CoAP
import Fleet
import Foundation
import LwM2MClient
import XCTest

/// The fleet file's `search:` section, the plan derived from it, the fleet one step runs, and
/// how a step's result is judged.
final class SearchSpecTests: XCTestCase {
    private static let base = """
        server: embedded
        devices:
          - count: 300
          - name: other
            count: 100
        stages:
          - { duration: 10s, target: 400/s }
          - { duration: 5s, rate: 200/s }

        """

    private func spec(_ yaml: String) throws -> FleetSpec { try FleetSpec(yaml: yaml, source: "search.yaml") }

    private func problems(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            _ = try FleetSpec(yaml: yaml, source: "broken.yaml")
            XCTFail("loaded, expected an error", file: file, line: line)
            return []
        } catch {
            return error.lines
        }
    }

    func testTheSearchSectionReadsEveryKey() throws {
        let spec = try spec(Self.base + """
            search:
              load: arrival-rate
              from: 100/s
              to: 12000/min
              growth: 1.5x
              precision: 5%
              step-duration: 30s
              hold: 0s
              confirm: false
              plateau: 10%
              generator: { loop-lag: 2ms, rate-error: 0.5% }
            """)
        let plan = spec.searchPlan
        XCTAssertEqual(plan.load, .arrivalRate)
        XCTAssertEqual(plan.from, 100)
        XCTAssertEqual(plan.to, 200)
        XCTAssertEqual(plan.growth, 1.5)
        XCTAssertEqual(plan.precision, 0.05)
        XCTAssertEqual(plan.stepSeconds, 30)
        XCTAssertEqual(plan.holdSeconds, 0)
        XCTAssertFalse(plan.confirm)
        XCTAssertEqual(plan.plateauGrowth, 0.1)
        XCTAssertEqual(plan.loopLagLimitNanoseconds, 2e6)
        XCTAssertEqual(plan.arrivalRateErrorLimit, 0.005)
        XCTAssertEqual(plan.defaultsUsed, ["thresholds: register.latency.p99 < 1s, register.failed.rate == 0 (the file has none)"])
        let held = try self.spec(Self.base + "search: { load: devices-held, from: 1000, to: 64000, rate: 2000/s }").searchPlan
        XCTAssertEqual(held.load, .devicesHeld)
        XCTAssertEqual(held.from, 1000)
        XCTAssertEqual(held.to, 64000)
        XCTAssertEqual(held.fillRate, 2000)
    }

    func testMistakesInTheSearchSectionNameLineKeyAndWhatIsValid() {
        let cases: [(search: String, expected: String)] = [
            ("search: { growth: 1x }", "broken.yaml:9:19: search.growth: '1x' is not valid; use a factor above 1 and at most 10, such as 2x or 1.5x"),
            ("search: { from: 100 }", "broken.yaml:9:17: search.from: '100' is not valid; use a rate above 0 such as 500/s (load: arrival-rate)"),
            ("search: { load: devices-held, from: 10/s }",
             "broken.yaml:9:37: search.from: '10/s' is not valid; use a whole number of devices above 0 such as 2000 (load: devices-held)"),
            ("search: { from: 500/s, to: 100/s }", "broken.yaml:9:28: search.to: must be above from; the search steps up from from to to"),
            ("search: { to: 0.1/s }", "broken.yaml:9:15: search.to: gives a search from 0.1/s to 0.1/s; give from below to"),
            ("search: { load: devices-held, step-duration: 10s }",
             "broken.yaml:9:46: search.step-duration: belongs to load: arrival-rate; a devices-held step lasts as long as its devices take to arrive at rate, then hold"),
            ("search: { rate: 10/s }",
             "broken.yaml:9:17: search.rate: belongs to load: devices-held (the rate that fills the registry); an arrival-rate search steps the rate itself"),
            ("search: { precision: 80% }", "broken.yaml:9:22: search.precision: '80%' is not valid; use a percentage from 0.1% to 50%, such as 10%"),
            ("search: { lod: devices-held }", "broken.yaml:9:11: search.lod: unknown key 'lod'; did you mean 'load'? valid keys: load, from, to, growth, precision, step-duration, rate, hold, confirm, plateau, generator"),
            ("search: { generator: { lag: 5ms } }", "broken.yaml:9:24: search.generator.lag: unknown key 'lag'; valid keys: loop-lag, rate-error"),
        ]
        for (search, expected) in cases {
            XCTAssertEqual(problems(Self.base + search), [expected], search)
        }
    }

    func testAGroupWithAKeyFileCannotBeScaledBySearch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("search-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "sim-000000,00112233\nsim-000001,44556677\n".write(to: directory.appendingPathComponent("keys.csv"), atomically: true, encoding: .utf8)
        let yaml = """
            server: embedded
            devices:
              - count: 2
                security: { mode: psk, key-file: keys.csv }
            stages:
              - { duration: 1s, rate: 2/s }
            """
        XCTAssertNoThrow(try FleetSpec(yaml: yaml, source: "keys.yaml", baseDirectory: directory.path), "run takes it")
        do {
            _ = try FleetSpec(yaml: yaml + "\nsearch: { from: 1/s }", source: "keys.yaml", baseDirectory: directory.path)
            XCTFail("a search of it loaded")
        } catch {
            XCTAssertTrue(error.lines.contains { $0.contains("devices[0].security.key-file: a search scales each group's device count") }, "\(error)")
        }
    }

    func testWithoutASearchSectionThePlanComesFromTheBusiestStageAndSaysSo() throws {
        let plan = try spec(Self.base + "thresholds: [register.latency.p99 < 200ms]").searchPlan
        XCTAssertEqual(plan.load, .arrivalRate)
        XCTAssertEqual(plan.from, 200, "half the busiest stage's 400/s")
        XCTAssertEqual(plan.to, 6400)
        XCTAssertEqual(plan.growth, 2)
        XCTAssertEqual(plan.precision, 0.1)
        XCTAssertTrue(plan.confirm)
        XCTAssertEqual(plan.defaultsUsed.first, "load: arrival-rate")
        XCTAssertTrue(plan.defaultsUsed.contains("from: 200/s (half the busiest stage's 400/s)"), "\(plan.defaultsUsed)")
        XCTAssertTrue(plan.defaultsUsed.contains("generator.loop-lag: 5ms"))
        XCTAssertFalse(plan.defaultsUsed.contains { $0.hasPrefix("thresholds:") }, "the file has its own")
        let held = try spec(Self.base + "search: { load: devices-held }").searchPlan
        XCTAssertEqual(held.from, 200, "half the file's 400 devices")
        XCTAssertEqual(held.fillRate, 400, "the busiest stage's rate fills the registry")
    }

    func testAStepKeepsTheFleetButReplacesItsStagesAndScalesItsGroups() throws {
        let spec = try spec("""
            duration-limit: 5s
            server: { server: coap://127.0.0.1:5683 }
            devices:
              - count: 300
                lifetime: 60s
              - name: other
                count: 100
            stages:
              - { duration: 10s, rate: 40/s }
            end: drop
            search: { from: 10/s, to: 1000/s, step-duration: 2s, hold: 3s }
            """)
        let step = spec.searchStep(atLoad: 100, plan: spec.searchPlan)
        XCTAssertEqual(step.devices.map(\.count), [150, 50], "200 devices arrive, in the file's shares")
        XCTAssertEqual(step.devices.map(\.lifetimeSeconds), [60, 300])
        XCTAssertEqual(step.stages, [FleetSpec.Stage(durationSeconds: 2, arrivals: .constant(perSecond: 100)),
                                     FleetSpec.Stage(durationSeconds: 3, arrivals: .hold)])
        XCTAssertNil(step.durationLimitSeconds, "the search bounds itself")
        XCTAssertEqual(step.end, .deregister, "an external server's registry is emptied for the next step")
        XCTAssertEqual(step.thresholds.map(\.text), SearchPlan.defaultThresholds)
        XCTAssertNotNil(step.arrivalSchedule.intendedStart(of: step.deviceCount - 1), "every device arrives")

        let tiny = spec.searchStep(atLoad: 0.5, plan: spec.searchPlan)
        XCTAssertEqual(tiny.devices.map(\.count), [1, 1], "each group keeps a device")
        XCTAssertNotNil(tiny.arrivalSchedule.intendedStart(of: tiny.deviceCount - 1), "the arrivals last long enough for both")

        let held = try self.spec(Self.base + "search: { load: devices-held, rate: 500/s, hold: 20s }")
        let heldStep = held.searchStep(atLoad: 2000, plan: held.searchPlan)
        XCTAssertEqual(heldStep.deviceCount, 2000)
        XCTAssertEqual(heldStep.stages, [FleetSpec.Stage(durationSeconds: 4, arrivals: .constant(perSecond: 500)),
                                         FleetSpec.Stage(durationSeconds: 20, arrivals: .hold)])
        XCTAssertEqual(heldStep.end, .deregister)
    }

    // MARK: Judging a step

    /// A run whose Register latency went bad in its second second, with 200 devices registered then.
    private func result(of spec: FleetSpec, loopLagNanoseconds: UInt64 = 1_000_000) -> ResultFile {
        var metrics = FleetMetrics()
        for (second, latency) in [(1, 5_000_000), (2, 500_000_000)] as [(UInt64, UInt64)] {
            for _ in 0..<100 {
                metrics.recordScheduledArrival(intendedStage: 0, startedStage: 0, latenessNanoseconds: 0)
                metrics.recordStateChange(from: .idle, to: .registering)
                metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: latency, serviceNanoseconds: latency)
                metrics.recordStateChange(from: .registering, to: .registered)
            }
            metrics.recordLoopLag(nanoseconds: loopLagNanoseconds)
            metrics.closeInterval(elapsedNanoseconds: second * 1_000_000_000)
        }
        metrics.endReason = .completed
        return ResultFile(
            toolVersion: "test", seed: 1, spec: ResultFile.Spec(path: "search.yaml", text: ""), startedAt: "", finishedAt: "",
            interrupted: false, metrics: metrics, thresholds: spec.thresholdResults(for: metrics))
    }

    func testAFailedStepSaysWhichThresholdBrokeFirstAndTheRegistrySizeThen() throws {
        let spec = try spec(Self.base + """
            thresholds: [register.latency.p99 < 200ms, violations == 0, register.failed.rate == 0]
            search: { from: 10/s, to: 1000/s, step-duration: 2s }
            """)
        let plan = spec.searchPlan
        let step = spec.searchStep(atLoad: 100, plan: plan)
        let judged = SearchStep(number: 3, phase: .growing, load: 100, step: step, plan: plan, result: result(of: step), replay: "")
        XCTAssertEqual(judged.verdict, .failed)
        XCTAssertEqual(judged.brokeFirst, "register.latency.p99 < 200ms")
        XCTAssertEqual(judged.brokeAtSeconds, 2)
        XCTAssertEqual(judged.registeredAtBreak, 200)
        XCTAssertEqual(judged.peakRegistered, 200)
        XCTAssertEqual(judged.accepted, 100, "200 Registers over 2 s of arrivals")
        XCTAssertEqual(judged.reasons, ["register.latency.p99 < 200ms: 500ms"])
        XCTAssertTrue(judged.generatorHealthy)

        let lagging = SearchStep(
            number: 3, phase: .growing, load: 100, step: step, plan: plan, result: result(of: step, loopLagNanoseconds: 20_000_000), replay: "")
        XCTAssertEqual(lagging.verdict, .generatorLimited, "a step the generator could not keep up with says nothing of the server")
        XCTAssertTrue(lagging.reasons.contains { $0.hasPrefix("generator loop lag p99 20") }, "\(lagging.reasons)")

        let loose = try self.spec(Self.base + "thresholds: [register.latency.p99 < 1s]\nsearch: { from: 10/s, step-duration: 2s }")
        let passing = SearchStep(
            number: 1, phase: .growing, load: 100, step: loose.searchStep(atLoad: 100, plan: loose.searchPlan), plan: loose.searchPlan,
            result: result(of: loose), replay: "")
        XCTAssertEqual(passing.verdict, .passed)
        XCTAssertNil(passing.brokeFirst)
        XCTAssertNil(passing.registeredAtBreak)
    }
}
