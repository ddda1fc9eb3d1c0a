import CoAP
import Fleet
import Foundation
@testable import LwM2MClient
import XCTest

/// `compare`'s judgement on results built in code: values from the histograms, which way is
/// better, tolerances, operations on one side only, refusals and warnings, and the three outputs.
final class ResultComparisonTests: XCTestCase {
    private func compare(
        _ a: ResultFile, _ b: ResultFile, tolerances: [String] = [], allowPartial: Bool = false
    ) throws -> ResultComparison {
        try ResultComparison(
            a: .init(path: "a.json", result: a), b: .init(path: "b.json", result: b),
            tolerances: ComparisonTolerances(parsing: tolerances), allowPartial: allowPartial)
    }

    private func row(_ comparison: ResultComparison, _ operation: String?, _ metric: ComparisonMetric) throws -> ResultComparison.Row {
        try XCTUnwrap(comparison.rows.first { $0.operation == operation && $0.metric == metric }, "no row \(operation ?? "run") \(metric)")
    }

    // MARK: Values from the histograms

    func testPercentilesOfAMergedResultComeFromItsMergedHistogramNotTheAverageOfItsParts() throws {
        // Two workers: one saw 100 registrations of 1 ms, the other 100 of 10 ms. The run's p99 is
        // 10 ms and its p50 1 ms; the averages of the parts' percentiles would be 5.5 ms for both.
        var fast = FleetMetrics(), slow = FleetMetrics()
        ComparedResults.record("register", 100, milliseconds: 1, into: &fast)
        ComparedResults.record("register", 100, milliseconds: 10, into: &slow)
        var merged = fast
        merged.merge(slow)
        let a = ComparedResults.result { $0 = merged }
        let comparison = try compare(a, ComparedResults.registrations(200, milliseconds: 10))
        let histogram = try XCTUnwrap(merged.operations["register"]).latency

        let p99 = try row(comparison, "register", .p99)
        XCTAssertEqual(p99.a, Double(histogram.value(atPercentile: 99)))
        XCTAssertEqual(try XCTUnwrap(p99.a) / 1e6, 10, accuracy: 0.01)
        XCTAssertEqual(p99.verdict, .same, "B's p99 is A's, 10 ms: an average of 5.5 ms would call B worse")
        let p50 = try row(comparison, "register", .p50)
        XCTAssertEqual(try XCTUnwrap(p50.a) / 1e6, 1, accuracy: 0.001)
        XCTAssertEqual(p50.verdict, .worse)
        XCTAssertEqual(try row(comparison, "register", .p999).a, Double(histogram.value(atPercentile: 99.9)))
    }

    func testRateIsOperationsPerActiveSecondOfTheTimeSeries() throws {
        let a = ComparedResults.result { metrics in
            ComparedResults.record("register", 30, milliseconds: 1, into: &metrics)
            metrics.closeInterval(elapsedNanoseconds: 1_000_000_000)
            metrics.closeInterval(elapsedNanoseconds: 2_000_000_000)
            ComparedResults.record("register", 30, milliseconds: 1, into: &metrics)
        }
        // Completions in the first and the third second: 60 over 3 s, whatever the run's length.
        XCTAssertEqual(try row(try compare(a, a), "register", .rate).a, 20)
    }

    func testAPercentileOfTooFewSamplesToBeMoreThanTheLargestIsShownNotJudged() throws {
        let thousand = ComparedResults.registrations(1000, milliseconds: 1)
        let slower = try compare(thousand, ComparedResults.registrations(999, milliseconds: 2))
        let p999 = try row(slower, "register", .p999)
        XCTAssertEqual(p999.b, 2_000_000, "shown")
        XCTAssertEqual(p999.verdict, .fewSamples, "999 samples: p999 is the largest one")
        XCTAssertEqual(try row(slower, "register", .p99).verdict, .worse)
        XCTAssertEqual(try row(try compare(thousand, ComparedResults.registrations(1000, milliseconds: 2)), "register", .p999).verdict, .worse)
        XCTAssertEqual(try row(try compare(thousand, ComparedResults.registrations(99, milliseconds: 2)), "register", .p99).verdict, .fewSamples)
        XCTAssertEqual(ComparisonMetric.allCases.map(\.minimumSamples), [0, 2, 10, 100, 1000, 0, 0, 0])
    }

    // MARK: Directions and tolerances

    func testLowerLatencyIsBetterAndHigherRateIsBetter() throws {
        let comparison = try compare(ComparedResults.registrations(100, milliseconds: 10), ComparedResults.registrations(50, milliseconds: 5))
        let p50 = try row(comparison, "register", .p50)
        XCTAssertEqual(p50.better, .lower)
        XCTAssertEqual(p50.verdict, .better)
        XCTAssertEqual(try XCTUnwrap(p50.relativeChange), -0.5, accuracy: 0.001)
        let rate = try row(comparison, "register", .rate)
        XCTAssertEqual(rate.better, .higher)
        XCTAssertEqual(rate.a, 100)
        XCTAssertEqual(rate.b, 50)
        XCTAssertEqual(rate.verdict, .worse)
        XCTAssertEqual(comparison.regressions.map(\.metric), [.rate])

        let reversed = try compare(ComparedResults.registrations(50, milliseconds: 5), ComparedResults.registrations(100, milliseconds: 10))
        XCTAssertEqual(try row(reversed, "register", .p50).verdict, .worse)
        XCTAssertEqual(try row(reversed, "register", .rate).verdict, .better)
    }

    func testAChangeWithinTheToleranceIsTheSameAndTheToleranceCanBeSet() throws {
        let a = ComparedResults.registrations(100, milliseconds: 10), b = ComparedResults.registrations(100, milliseconds: 10.8)
        XCTAssertEqual(try row(try compare(a, b), "register", .p50).verdict, .worse, "8% is beyond the default 5% for p50")
        XCTAssertEqual(try row(try compare(a, b), "register", .p99).verdict, .same, "8% is within the default 10% for p99")
        XCTAssertEqual(try row(try compare(a, b, tolerances: ["10%"]), "register", .p50).verdict, .same)
        XCTAssertEqual(try row(try compare(a, b, tolerances: ["p99=5%"]), "register", .p99).verdict, .worse)
        XCTAssertEqual(try row(try compare(a, b, tolerances: ["1ms"]), "register", .p50).verdict, .same, "0.8 ms is within 1 ms")
        XCTAssertEqual(try row(try compare(a, b, tolerances: ["register.p50=9%"]), "register", .p50).verdict, .same)
    }

    func testFailureRateToleranceIsAnAbsoluteDifferenceOfShares() throws {
        let a = ComparedResults.registrations(1000, milliseconds: 1)
        let one = try row(try compare(a, ComparedResults.registrations(1000, milliseconds: 1, failures: 1)), "register", .failureRate)
        XCTAssertEqual(one.verdict, .same, "0.1 percentage points is within the default")
        XCTAssertEqual(one.relativeChange, nil, "no relative change from 0")
        let two = ComparedResults.registrations(1000, milliseconds: 1, failures: 2)
        XCTAssertEqual(try row(try compare(a, two), "register", .failureRate).verdict, .worse)
        XCTAssertEqual(try row(try compare(a, two, tolerances: ["1000%"]), "register", .failureRate).verdict, .worse,
                       "a bare percentage sets rates and latencies, not failure rates")
        XCTAssertEqual(try row(try compare(a, two, tolerances: ["failure-rate=0.5%"]), "register", .failureRate).verdict, .same)
        XCTAssertEqual(try row(try compare(two, a), "register", .failureRate).verdict, .better)
    }

    func testMoreRetransmissionsPerAttemptIsWorse() throws {
        func run(retransmissions: Int) -> ResultFile {
            ComparedResults.result { metrics in
                ComparedResults.record("update", 100, milliseconds: 1, into: &metrics)
                metrics.recordRetransmissions(retransmissions, of: "update")
            }
        }
        let row = try row(try compare(run(retransmissions: 1), run(retransmissions: 5)), "update", .retransmissions)
        XCTAssertEqual(row.a, 0.01)
        XCTAssertEqual(row.b, 0.05)
        XCTAssertEqual(row.verdict, .worse)
        XCTAssertEqual(try self.row(try compare(run(retransmissions: 1), run(retransmissions: 2)), "update", .retransmissions).verdict, .same)
    }

    func testAnyNewViolationIsWorse() throws {
        func run(violations: Int) -> ResultFile {
            ComparedResults.result { metrics in
                ComparedResults.record("register", 10, milliseconds: 1, into: &metrics)
                for _ in 0..<violations {
                    metrics.recordViolation(ServerViolation(operation: .read, path: "/3/0", state: .registering, isProven: true))
                }
            }
        }
        let none = run(violations: 0), one = run(violations: 1)
        XCTAssertEqual(try row(try compare(none, none), nil, .violations).verdict, .same)
        let worse = try row(try compare(none, one), nil, .violations)
        XCTAssertEqual(worse.b, 1)
        XCTAssertEqual(worse.verdict, .worse)
        XCTAssertEqual(try row(try compare(none, one, tolerances: ["violations=1"]), nil, .violations).verdict, .same)
        XCTAssertEqual(try row(try compare(one, none), nil, .violations).verdict, .better)
    }

    // MARK: Operations on one side only

    func testAnOperationThatDisappearsIsWorseInRateButAFallbackThatDisappearsIsBetter() throws {
        let a = ComparedResults.result { metrics in
            ComparedResults.record("register", 10, milliseconds: 1, into: &metrics)
            ComparedResults.record("update", 10, milliseconds: 1, into: &metrics)
            ComparedResults.record("bootstrap-fallback", 2, milliseconds: 1, into: &metrics)
        }
        let comparison = try compare(a, ComparedResults.registrations(10, milliseconds: 1))
        XCTAssertEqual(comparison.operations.map(\.name), ["bootstrap-fallback", "register", "update"], "in the catalog's order")
        XCTAssertEqual(comparison.operations.map(\.presence), [.onlyA, .both, .onlyA])
        let rate = try row(comparison, "update", .rate)
        XCTAssertEqual(rate.b, nil, "B never did it: no value, not 0")
        XCTAssertEqual(rate.difference, -10)
        XCTAssertEqual(rate.verdict, .worse)
        XCTAssertEqual(try row(comparison, "update", .p99).verdict, .onlyA, "a latency of nothing is not judged")
        XCTAssertEqual(try row(comparison, "update", .failureRate).verdict, .same)
        XCTAssertEqual(try row(comparison, "bootstrap-fallback", .rate).better, .lower)
        XCTAssertEqual(try row(comparison, "bootstrap-fallback", .rate).verdict, .better)
        XCTAssertEqual(comparison.regressions.map { "\($0.operation ?? "") \($0.metric)" }, ["update rate"])
    }

    func testAnOperationThatAppearsIsARegressionOnlyWithFailures() throws {
        let a = ComparedResults.registrations(10, milliseconds: 1)
        func withExecutes(failing: Int) -> ResultFile {
            ComparedResults.result { metrics in
                ComparedResults.record("register", 10, milliseconds: 1, into: &metrics)
                for index in 0..<10 { metrics.recordRequestHandled("execute", code: index < failing ? .methodNotAllowed : .changed) }
            }
        }
        let clean = try compare(a, withExecutes(failing: 0))
        XCTAssertEqual(clean.operations.last?.presence, .onlyB)
        XCTAssertEqual(try row(clean, "execute", .rate).verdict, .better)
        XCTAssertEqual(try row(clean, "execute", .failureRate).verdict, .same)
        XCTAssertNil(clean.rows.first { $0.operation == "execute" && $0.metric.isLatency }, "requests devices answer have no latency on either side")
        XCTAssertTrue(clean.regressions.isEmpty)

        let failing = try compare(a, withExecutes(failing: 3))
        let failureRate = try row(failing, "execute", .failureRate)
        XCTAssertEqual(failureRate.a, nil)
        XCTAssertEqual(failureRate.b, 0.3)
        XCTAssertEqual(failureRate.verdict, .worse)
        XCTAssertEqual(failing.regressions.count, 1)
    }

    func testAnOperationWithNoSamplesInBShowsItsLatencyUnjudgedAndFailsOnItsFailureRate() throws {
        let b = ComparedResults.result { metrics in
            for _ in 0..<5 { metrics.recordUnfinishedDevice(state: "waiting-to-register", pendingOperation: "register") }
        }
        let comparison = try compare(ComparedResults.registrations(5, milliseconds: 1), b)
        let p50 = try row(comparison, "register", .p50)
        XCTAssertEqual(p50.b, nil)
        XCTAssertEqual(p50.verdict, .onlyA)
        XCTAssertEqual(try row(comparison, "register", .rate).b, 0, "the operation was needed and none ended: a rate of 0")
        XCTAssertEqual(try row(comparison, "register", .failureRate).b, 1)
        XCTAssertEqual(Set(comparison.regressions.map(\.metric)), [.rate, .failureRate])
    }

    // MARK: Refusals and warnings

    func testAPartialMergeOrARunThatEndedEarlyIsRefusedUnlessAllowed() throws {
        let whole = ComparedResults.registrations(10, milliseconds: 1)
        let partial = ComparedResults.result(missingStripes: [ShardStripe(index: 1, count: 2)]) {
            ComparedResults.record("register", 5, milliseconds: 1, into: &$0)
        }
        XCTAssertThrowsError(try compare(whole, partial)) { error in
            XCTAssertEqual(error as? ResultComparisonError, .partial(path: "b.json", missing: [ShardStripe(index: 1, count: 2)]))
            XCTAssertTrue("\(error)".contains("PARTIAL"), "\(error)")
            XCTAssertTrue("\(error)".contains("--allow-partial"), "\(error)")
        }
        let interrupted = ComparedResults.result(endReason: .interrupted) { ComparedResults.record("register", 5, milliseconds: 1, into: &$0) }
        XCTAssertThrowsError(try compare(interrupted, whole)) { error in
            XCTAssertEqual(error as? ResultComparisonError, .endedEarly(path: "a.json", reason: "interrupted"))
        }
        let allowed = try compare(whole, partial, allowPartial: true)
        XCTAssertTrue(allowed.warnings.contains { $0.hasPrefix("B (b.json) is a PARTIAL merge (missing shards 1/2), compared anyway") }, "\(allowed.warnings)")
        XCTAssertEqual(try row(allowed, "register", .rate).b, 5)
    }

    func testDifferentFleetFilesAndToolVersionsAreComparedWithAWarningNamingTheFirstDifference() throws {
        let a = ComparedResults.registrations(10, milliseconds: 1)
        let b = ComparedResults.result(fleet: ComparedResults.fleet.replacingOccurrences(of: "count: 100", with: "count: 200"), toolVersion: "0.2.0") {
            ComparedResults.record("register", 10, milliseconds: 1, into: &$0)
        }
        let comparison = try compare(a, b)
        XCTAssertEqual(comparison.warnings.count, 2, "\(comparison.warnings)")
        XCTAssertTrue(comparison.warnings[0].contains("line 3: `  - count: 100` against `  - count: 200`"), comparison.warnings[0])
        XCTAssertTrue(comparison.warnings[1].contains("0.1.0") && comparison.warnings[1].contains("0.2.0"), comparison.warnings[1])
        XCTAssertEqual(try row(comparison, "register", .rate).verdict, .same)
        XCTAssertTrue(try compare(a, a).warnings.isEmpty)
    }

    func testAToleranceForAnOperationNeitherResultHasIsWarnedOf() throws {
        let a = ComparedResults.registrations(10, milliseconds: 1)
        let comparison = try compare(a, a, tolerances: ["regster.p99=20%"])
        XCTAssertEqual(comparison.warnings, ["--tolerance names operation 'regster', which neither result has"])
    }

    // MARK: Output

    func testTheTableIsAlignedShowsDashesForNoSamplesAndEndsWithTheVerdict() throws {
        let a = ComparedResults.result { metrics in
            ComparedResults.record("register", 10, milliseconds: 1, into: &metrics)
            ComparedResults.record("update", 10, milliseconds: 2, into: &metrics)
        }
        let text = ComparisonTable.render(try compare(a, ComparedResults.registrations(10, milliseconds: 2)))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("operation") })
        let tableLines = lines[header...].prefix { !$0.isEmpty }
        let verdictColumn = try XCTUnwrap(lines[header].range(of: "verdict")).lowerBound.utf16Offset(in: lines[header])
        for line in tableLines {
            let characters = Array(line)
            XCTAssertGreaterThan(characters.count, verdictColumn, line)
            XCTAssertEqual(characters[verdictColumn - 1], " ", "every verdict starts in the header's column: \(line)")
            XCTAssertNotEqual(characters[verdictColumn], " ", "every verdict starts in the header's column: \(line)")
        }
        XCTAssertTrue(tableLines.contains { $0.hasPrefix("update") && $0.contains("2.000") && $0.contains("  -  ") && $0.hasSuffix("only A") },
                      text)
        XCTAssertTrue(tableLines.contains { $0.hasPrefix("register") && $0.contains("latency p50 ms") && $0.contains("+100.0%") && $0.hasSuffix("worse") },
                      text)
        XCTAssertTrue(text.contains("only in A (B never did them): update"), text)
        XCTAssertTrue(lines.dropLast().last?.hasPrefix("B regresses: ") ?? false, text)
    }

    func testMarkdownIsAGitHubTableWithTheVerdictAsHeading() throws {
        let a = ComparedResults.registrations(100, milliseconds: 1)
        let markdown = ComparisonTable.markdown(try compare(a, ComparedResults.registrations(100, milliseconds: 2)))
        let lines = markdown.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("### lwm2m-fleet compare: B regresses"), lines[0])
        let header = try XCTUnwrap(lines.firstIndex(of: "| operation | metric | better | A | B | change | tolerance | verdict |"))
        XCTAssertTrue(lines[header + 1].hasPrefix("| --- |"), lines[header + 1])
        let rows = lines[(header + 2)...]
        XCTAssertEqual(rows.count, 8, "rate, four percentiles, failure rate, retransmissions, violations")
        XCTAssertTrue(rows.allSatisfy { $0.hasPrefix("| ") && $0.hasSuffix(" |") && $0.filter { $0 == "|" }.count == 9 }, markdown)
        XCTAssertTrue(rows.contains("| register | latency p50 ms | lower | 1.000 | 2.000 | +100.0% | 5% | **worse** |"), markdown)
    }

    func testJSONHasEveryRowWithNumbersVerdictAndNullsForMissingValues() throws {
        let a = ComparedResults.result { metrics in
            ComparedResults.record("register", 100, milliseconds: 1, into: &metrics)
            ComparedResults.record("update", 10, milliseconds: 1, into: &metrics)
        }
        let comparison = try compare(a, ComparedResults.registrations(100, milliseconds: 2))
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try comparison.jsonText().utf8)) as? [String: Any])
        XCTAssertEqual(document["regressed"] as? Bool, true)
        XCTAssertEqual(document["regressions"] as? Int, comparison.regressions.count)
        let rows = try XCTUnwrap(document["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, comparison.rows.count)
        let p50 = try XCTUnwrap(rows.first { $0["operation"] as? String == "register" && $0["metric"] as? String == "p50" })
        XCTAssertEqual(p50["a"] as? Double, 1_000_000)
        XCTAssertEqual(p50["b"] as? Double, 2_000_000)
        XCTAssertEqual(p50["unit"] as? String, "ns")
        XCTAssertEqual(p50["better"] as? String, "lower")
        XCTAssertEqual(p50["verdict"] as? String, "worse")
        XCTAssertEqual(p50["regression"] as? Bool, true)
        XCTAssertEqual((p50["tolerance"] as? [String: Any])?["relative"] as? Double, 0.05)
        XCTAssertTrue((p50["tolerance"] as? [String: Any])?["absolute"] is NSNull)
        let updateP50 = try XCTUnwrap(rows.first { $0["operation"] as? String == "update" && $0["metric"] as? String == "p50" })
        XCTAssertTrue(updateP50["b"] is NSNull, "no samples is null, never 0")
        XCTAssertEqual(updateP50["verdict"] as? String, "only-a")
        let violations = try XCTUnwrap(rows.first { $0["metric"] as? String == "violations" })
        XCTAssertTrue(violations["operation"] is NSNull)
        let operations = try XCTUnwrap(document["operations"] as? [[String: Any]])
        XCTAssertEqual(operations.map { $0["presence"] as? String }, ["both", "only-a"])
        XCTAssertEqual((operations[0]["b"] as? [String: Any])?["count"] as? Int, 100)
        XCTAssertEqual((document["a"] as? [String: Any])?["path"] as? String, "a.json")
    }
}
