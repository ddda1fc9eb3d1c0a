import Fleet
import Foundation
import XCTest

/// Thresholds: `metric comparator value`, with units where the metric is a duration or a rate,
/// and their verdict against a run's values.
final class ThresholdTests: XCTestCase {
    private func syntaxError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Threshold.SyntaxError? {
        do {
            let threshold = try Threshold(text)
            XCTFail("'\(text)' parsed as \(threshold.metric) \(threshold.comparator) \(threshold.limit)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testDurationLimitsAreKeptInNanoseconds() throws {
        let threshold = try Threshold("register.latency.p99 < 200ms")
        XCTAssertEqual(threshold.metric, "register.latency.p99")
        XCTAssertEqual(threshold.comparator, .lessThan)
        XCTAssertEqual(threshold.limit, 200_000_000)
        XCTAssertTrue(threshold.isDuration)
        XCTAssertEqual(try Threshold("loop_lag.p99<=1.5s").limit, 1_500_000_000)
        XCTAssertEqual(try Threshold("bootstrap.service.max >= 300us").limit, 300_000, accuracy: 1e-6)
        XCTAssertEqual(try Threshold("update.latency.mean > 250ns").limit, 250, accuracy: 1e-9)
        XCTAssertEqual(try Threshold("deregister.latency.p50 < 2m").limit, 120e9)
        XCTAssertEqual(try Threshold("notify.latency.max != 0").limit, 0, "a bare 0 needs no unit")
        XCTAssertEqual(try Threshold("  read.latency.p90   <   5 ms  ").limit, 5_000_000, "spaces around the parts are allowed")
    }

    func testRatesTakeFractionsOrPercentagesAndCountsPlainNumbers() throws {
        XCTAssertEqual(try Threshold("bootstrap.failed.rate < 0.001").limit, 0.001)
        XCTAssertEqual(try Threshold("bootstrap.failed.rate < 0.1%").limit, 0.001, accuracy: 1e-15)
        XCTAssertEqual(try Threshold("arrivals.rate_error <= 0.5%").limit, 0.005, accuracy: 1e-15)
        let violations = try Threshold("violations == 0")
        XCTAssertEqual(violations.comparator, .equal)
        XCTAssertEqual(violations.limit, 0)
        XCTAssertFalse(violations.isDuration)
        XCTAssertEqual(try Threshold("devices.registered >= 10_000").limit, 10_000)
        XCTAssertEqual(try Threshold("write-attributes.count != 3").comparator, .notEqual)
        XCTAssertEqual(try Threshold("cancel-observation.timeouts > 3").comparator, .greaterThan)
    }

    func testMalformedThresholdsSayWhatAndWhere() {
        let cases: [(text: String, offset: Int, message: String)] = [
            ("", 0, "expected a metric name such as register.latency.p99 at the start of ''"),
            ("< 5", 0, "expected a metric name such as register.latency.p99 at the start of '< 5'"),
            ("violations", 10, "expected a comparator (<, <=, >, >=, == or !=) after 'violations', found nothing"),
            ("violations = 0", 11, "expected a comparator (<, <=, >, >=, == or !=) after 'violations', found '='; write == to compare for equality"),
            ("violations is 0", 11, "expected a comparator (<, <=, >, >=, == or !=) after 'violations', found 'is 0'"),
            ("violations <", 12, "expected a value after 'violations <'"),
            ("register.latency.p99 < 200", 23, "'200' has no time unit; register.latency.p99 is a duration: give a number with ns, us, ms, s, m or h, such as 200ms"),
            ("register.latency.p99 < 2d", 23, "'2d' has unit 'd'; register.latency.p99 is a duration: give a number with ns, us, ms, s, m or h, such as 200ms"),
            ("register.latency.p99 < fast", 23, "'fast' is not a number; register.latency.p99 is a duration: give a number with ns, us, ms, s, m or h, such as 200ms"),
            ("violations == 1ms", 14, "'1ms' has unit 'ms'; violations is a count: give a plain number such as 0"),
            ("register.failed.rate < 1ms", 23, "'1ms' has unit 'ms'; register.failed.rate is a fraction: give a number such as 0.001 or a percentage such as 0.1%"),
        ]
        for (text, offset, message) in cases {
            let error = syntaxError(text)
            XCTAssertEqual(error?.message, message, text)
            XCTAssertEqual(error?.offset, offset, text)
        }
    }

    func testUnknownMetricsSuggestTheClosestCatalogName() throws {
        let p95 = try XCTUnwrap(syntaxError("register.latency.p95 < 200ms"))
        XCTAssertTrue(p95.message.hasPrefix("unknown metric 'register.latency.p95'; did you mean 'register.latency.p90' or 'register.latency.p99'? "), p95.message)
        XCTAssertEqual(p95.offset, 0)
        XCTAssertTrue(try XCTUnwrap(syntaxError("registration.failed.rate < 0.01")).message
            .hasPrefix("unknown metric 'registration.failed.rate'; did you mean 'register.failed.rate'? "))
        XCTAssertTrue(try XCTUnwrap(syntaxError("  loop-lag.p99 < 5ms")).message.hasPrefix("unknown metric 'loop-lag.p99'; did you mean 'loop_lag.p99'? "))
        XCTAssertEqual(syntaxError("  loop-lag.p99 < 5ms")?.offset, 2, "points at the metric, past the leading spaces")
        let nothingClose = try XCTUnwrap(syntaxError("throughput > 5"))
        XCTAssertTrue(nothingClose.message.hasPrefix("unknown metric 'throughput'; a metric is OPERATION.FIELD with OPERATION one of bootstrap, "),
                      nothingClose.message)
        XCTAssertTrue(nothingClose.message.contains("arrival_lateness.p999, arrival_lateness.max; "), nothingClose.message)
        XCTAssertTrue(nothingClose.message.hasSuffix("with server: embedded also server.registrations_held, server.registered, server.updated, "
            + "server.deregistered, server.expired, server.bootstraps, server.bootstrap_failures, server.refused, "
            + "server.requests_unanswered, server.violations_sent, server.devices_violated, server.retransmissions, server.registrations_lost, "
            + "server.handshakes, server.handshakes_resumed, server.handshake_failures"), nothingClose.message)
    }

    func testEvaluationComparesTheRunsValueWithTheLimit() throws {
        let values: [String: Double] = ["register.latency.p99": 150_000_000, "violations": 2, "bootstrap.failed.rate": 0]
        let lookup: (String) -> Double? = { values[$0] }
        XCTAssertEqual(try Threshold("register.latency.p99 < 200ms").evaluate(using: lookup),
                       ThresholdOutcome(threshold: "register.latency.p99 < 200ms", observed: 150_000_000, passed: true))
        XCTAssertEqual(try Threshold("register.latency.p99 < 100ms").evaluate(using: lookup).passed, false)
        XCTAssertEqual(try Threshold("violations == 0").evaluate(using: lookup),
                       ThresholdOutcome(threshold: "violations == 0", observed: 2, passed: false))
        XCTAssertEqual(try Threshold("violations <= 2").evaluate(using: lookup).passed, true)
        XCTAssertEqual(try Threshold("violations >= 3").evaluate(using: lookup).passed, false)
        XCTAssertEqual(try Threshold("violations > 1").evaluate(using: lookup).passed, true)
        XCTAssertEqual(try Threshold("violations != 2").evaluate(using: lookup).passed, false)
        XCTAssertEqual(try Threshold("bootstrap.failed.rate < 0.001").evaluate(using: lookup).passed, true)
        XCTAssertEqual(try Threshold("update.failed.rate < 0.001").evaluate(using: lookup),
                       ThresholdOutcome(threshold: "update.failed.rate < 0.001", observed: nil, passed: false),
                       "a metric the run has no value for fails")
    }

    func testOutcomesRoundTripThroughJSONForTheResultFile() throws {
        let outcome = ThresholdOutcome(threshold: "violations == 0", observed: 0, passed: true)
        let decoded = try JSONDecoder().decode(ThresholdOutcome.self, from: JSONEncoder().encode(outcome))
        XCTAssertEqual(decoded, outcome)
    }
}
