@testable import Fleet
import Foundation
import XCTest

/// `lwm2m-fleet report` for a search result: the answer first, a chart per measure of the steps
/// with every step marked by its outcome, every step in a table with its replay command, nothing
/// fetched or run, everything escaped; `report` tells a search result from a run's result and
/// refuses other JSON; and, where Chromium is installed, charts that really draw.
final class SearchReportTests: XCTestCase {
    static let fleetText = """
        server: { server: coap://127.0.0.1:5683 }
        devices:
          - count: 10
        stages:
          - { duration: 1s, rate: 10/s }
        thresholds:
          - register.latency.p99 < 200ms
          - register.failed.rate == 0
        search: { from: 50/s, to: 400/s, step-duration: 1s, hold: 1s, generator: { loop-lag: 200ms, rate-error: 20% } }
        """

    /// A search of a server that holds 150 registrations at once, as `ConnectionLimitedServer`
    /// answers it: it grows to 200/s, which fails, narrows (a step at 175/s whose generator lagged,
    /// one at 162/s that fails) and confirms 150/s. Every number differs from step to step, so a
    /// chart that plots the wrong field or step shows it.
    static func kneeResult() throws -> SearchResult {
        let spec = ResultFile.Spec(path: "limited.yaml", text: fleetText)
        let parsed = try FleetSpec(yaml: fleetText, source: "limited.yaml")
        let plan = parsed.searchPlan
        func step(
            _ number: Int, _ phase: CapacitySearch.Phase, _ load: Double, _ verdict: SearchStep.Verdict, p99Milliseconds: Double,
            failedRate: Double, lagMilliseconds: Double, rateError: Double
        ) -> SearchStep {
            let accepted = min(load, 150 + Double(number) / 10)
            var step = SearchStep(
                number: number, phase: phase, load: load, devices: Int(load), verdict: verdict, peakRegistered: Int(accepted),
                accepted: accepted, registerSucceeded: accepted, failedOperations: (load - accepted).rounded(), arrivalRateError: rateError,
                generatorHealthy: verdict != .generatorLimited, elapsedSeconds: 3 + Double(number) / 10,
                replay: "lwm2m-fleet run limited.yaml --step \(SearchPlan.number(load))/s --seed 77")
            step.registerLatencyP99Nanoseconds = p99Milliseconds * 1e6
            step.loopLagP99Nanoseconds = lagMilliseconds * 1e6
            step.thresholds = [
                ThresholdResult(expression: "register.latency.p99 < 200ms", metric: "register.latency.p99", observed: p99Milliseconds * 1e6,
                                passed: p99Milliseconds < 200),
                ThresholdResult(expression: "register.failed.rate == 0", metric: "register.failed.rate", observed: failedRate, passed: failedRate == 0),
            ]
            if verdict == .failed {
                step.reasons = ["register.failed.rate == 0: \(SearchStep.percent(failedRate))"]
                step.brokeFirst = "register.failed.rate == 0"
                step.brokeAtSeconds = 0.8 + Double(number) / 10
                step.registeredAtBreak = 150
            }
            if verdict == .generatorLimited { step.reasons = ["generator loop lag p99 240ms over its limit of 200ms"] }
            return step
        }
        let steps = [
            step(1, .growing, 50, .passed, p99Milliseconds: 1.5, failedRate: 0, lagMilliseconds: 0.3, rateError: 0.001),
            step(2, .growing, 100, .passed, p99Milliseconds: 2.5, failedRate: 0, lagMilliseconds: 0.4, rateError: 0.002),
            step(3, .growing, 200, .failed, p99Milliseconds: 4.5, failedRate: 0.25, lagMilliseconds: 0.7, rateError: 0.003),
            step(4, .narrowing, 150, .passed, p99Milliseconds: 3.5, failedRate: 0, lagMilliseconds: 0.5, rateError: 0.004),
            step(5, .narrowing, 175, .generatorLimited, p99Milliseconds: 6.5, failedRate: 0.1, lagMilliseconds: 240, rateError: 0.005),
            step(6, .narrowing, 162, .failed, p99Milliseconds: 5.5, failedRate: 0.07, lagMilliseconds: 0.6, rateError: 0.006),
            step(7, .confirming, 150, .passed, p99Milliseconds: 3.4, failedRate: 0, lagMilliseconds: 0.5, rateError: 0.007),
        ]
        let answer = CapacityAnswer(
            kind: .knee, highestPassing: 150, confirmed: true, lowestFailing: 162, generatorLimitedAt: 175,
            plateau: .init(offeredFrom: 150, offeredTo: 200, acceptedFrom: 150.4, acceptedTo: 150.3),
            notes: ["step 5 at 175/s was generator-limited and says nothing of the server"])
        return SearchResult(
            toolVersion: ToolVersion.current, seed: 77, spec: spec, plan: plan, thresholds: parsed.thresholds.map(\.text),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T12:00:30Z", maxDurationSeconds: 600, steps: steps, answer: answer)
    }

    /// The charts a search page has: load per step, accepted against offered, register p99, one
    /// per other threshold, the generator's lag and rate error, and registered devices.
    private func expectedChartCount(_ result: SearchResult) -> Int {
        let onRegisterLatency = result.thresholds.contains { $0.hasPrefix("register.latency.p99 ") }
        return 6 + Set(result.thresholds).count - (onRegisterLatency ? 1 : 0)
    }

    /// The figure of the chart titled `title`.
    private func chart(_ title: String, in page: String) throws -> String {
        let start = try XCTUnwrap(page.range(of: "aria-label=\"\(title)\""), "no chart \(title)")
        let end = try XCTUnwrap(page.range(of: "</figure>", range: start.upperBound..<page.endIndex))
        return String(page[start.lowerBound..<end.lowerBound])
    }

    private func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    func testThePageAnswersFirstThenPlotsEveryStepAndHasNoScriptOrLink() throws {
        let result = try Self.kneeResult()
        let page = HTMLReport.render(result, path: "search.json")
        XCTAssertTrue(page.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(expectedChartCount(result), 7, "register p99 has its own chart; register.failed.rate one more")
        XCTAssertEqual(occurrences(of: "<svg class=\"chart", in: page), expectedChartCount(result))
        for fetched in ["<script", "<link", "src=", "@import", "url(", "href="] {
            XCTAssertFalse(page.contains(fetched), fetched)
        }
        // The answer comes before the plan, the charts and the steps.
        let order = ["KNEE", "id=\"plan\"", "id=\"charts\"", "id=\"steps\"", "id=\"fleet-file\""].map { page.range(of: $0)?.lowerBound }
        XCTAssertEqual(order.compactMap { $0 }.count, order.count)
        XCTAssertEqual(order.compactMap { $0 }, order.compactMap { $0 }.sorted())
        XCTAssertTrue(page.contains("<span class=\"pass\">KNEE</span>: the server sustains 150/s (confirmed by a repeat) and fails at 162/s"))
        for (label, value) in [
            ("highest sustainable load", "150/s (confirmed by a repeat)"), ("lowest failing load", "162/s"),
            ("broke first", "register.failed.rate == 0 after 1s of step 6"), ("registered at the break", "150 devices"),
            ("generator limited at", "175/s"), ("plateau", "accepted stops growing at 150/s from an offered 150/s (150/s at 200/s)"),
            ("note", "step 5 at 175/s was generator-limited and says nothing of the server"), ("seed", "77"), ("exit status", "0"),
            ("step duration", "1 s of arrivals"), ("precision", "10%"), ("generator limits", "loop lag p99 200ms, arrival rate error 20%"),
            ("thresholds", "register.latency.p99 &lt; 200ms; register.failed.rate == 0"),
        ] {
            XCTAssertTrue(page.contains("<th class=\"text\">\(label)</th><td>\(value)</td>"), "\(label): \(value)")
        }
        XCTAssertTrue(page.contains("<th class=\"text\">generator health</th><td>not healthy at 175/s"))
        // Every step in the table, with its replay command.
        let table = try XCTUnwrap(page.components(separatedBy: "id=\"steps\"").last)
        for step in result.steps {
            XCTAssertTrue(table.contains("<code>\(HTMLText.escape(step.replay))</code>"), step.replay)
        }
        XCTAssertEqual(occurrences(of: "<code>lwm2m-fleet run", in: table), result.steps.count)

        // Each chart of the steps has a marker per step with a value: x is the step's number.
        for title in ["Load offered per step", "Register p99 per step", "register.failed.rate == 0", "Generator: loop lag p99 per step",
                      "Generator: arrival rate error per step"] {
            XCTAssertEqual(occurrences(of: "class=\"marker\"", in: try chart(HTMLText.escape(title), in: page)), result.steps.count, title)
        }
        XCTAssertEqual(occurrences(of: "class=\"marker\"", in: try chart("Accepted vs offered", in: page)), result.steps.count)
        let registered = try chart("Registered devices per step", in: page)
        XCTAssertEqual(occurrences(of: "class=\"marker\"", in: registered), result.steps.count + 2, "and the two breaks")
        // Limits and bounds are drawn as lines with their names in the legend.
        XCTAssertTrue(try chart("Register p99 per step", in: page).contains(">limit: &lt; 200ms<"))
        XCTAssertTrue(try chart("Generator: loop lag p99 per step", in: page).contains(">limit: 200ms<"))
        XCTAssertTrue(try chart("Load offered per step", in: page).contains(">lowest failing<"))
        XCTAssertTrue(try chart("Accepted vs offered", in: page).contains(">plateau<"))
    }

    func testEachStepsMarkerTellsItsOutcomeAndStandsWhereItsValueIs() throws {
        let result = try Self.kneeResult()
        let load = try chart("Load offered per step", in: HTMLReport.render(result, path: "search.json"))
        // 4 passed (green circles), 2 failed (red crosses), 1 generator-limited (an orange diamond).
        XCTAssertEqual(occurrences(of: "<circle class=\"marker\"", in: load), 4)
        XCTAssertEqual(occurrences(of: "<path class=\"marker\"", in: load), 2)
        XCTAssertEqual(occurrences(of: "<polygon class=\"marker\"", in: load), 1)
        let markerColors = load.components(separatedBy: "class=\"marker\"").dropFirst().map { element in
            element.prefix { $0 != "/" }.components(separatedBy: "=\"#").dropFirst().first.map { "#" + $0.prefix(6) } ?? "none"
        }
        XCTAssertEqual(Dictionary(markerColors.map { ($0, 1) }, uniquingKeysWith: +), ["#2ca02c": 4, "#d62728": 2, "#ff7f0e": 1])
        for verdict in ["passed", "failed", "generator-limited"] {
            XCTAssertTrue(load.contains(">\(verdict)</text>"), verdict)
        }
        XCTAssertFalse(load.contains(">interrupted</text>"), "no step was interrupted: no legend for it")

        // The chart's own geometry: step 3 (200/s, the highest load) is the highest marker, and
        // steps 4 and 7 (both 150/s) stand at one height, step 7 to the right of step 4.
        let circles = load.components(separatedBy: "<circle class=\"marker\" cx=\"").dropFirst().map { text -> (x: Double, y: Double) in
            let fields = text.split(separator: "\"")
            return (Double(fields[0]) ?? .nan, Double(fields[2]) ?? .nan)
        }
        XCTAssertEqual(circles.count, 4)
        let (step4, step7) = (circles[2], circles[3])
        XCTAssertEqual(step4.y, step7.y)
        XCTAssertLessThan(step4.x, step7.x)
        let cross = try XCTUnwrap(load.components(separatedBy: "<path class=\"marker\" d=\"M").dropFirst().first)
        let crossTop = try XCTUnwrap(Double(cross.split(separator: ",")[1].prefix { $0 != "L" }))
        XCTAssertLessThan(crossTop + 4.5, step4.y, "200/s is drawn above 150/s")
    }

    func testAMarkedSeriesWithoutALineDrawsOnlyItsMarkers() {
        let chart = SVGLineChart(title: "t", unit: "u", series: [
            .init(name: "scattered", color: "#123456", points: [(1, 1), (2, nil), (3, 3)], marker: .square, joined: false),
            .init(name: "joined", color: "#654321", points: [(1, 2), (2, 2)]),
            .init(name: "lone", color: "#abcdef", points: [(1, 5)], marker: .diamond),
        ]).render()
        XCTAssertEqual(occurrences(of: "<polyline", in: chart), 1, "only the joined series has a line")
        XCTAssertEqual(occurrences(of: "<rect class=\"marker\"", in: chart), 2, "a marker per point with a value")
        XCTAssertEqual(occurrences(of: "<polygon class=\"marker\"", in: chart), 1, "a lone marked point is its marker, not a dot")
        XCTAssertFalse(chart.contains("r=\"2\""))
        XCTAssertEqual(occurrences(of: "class=\"legend-marker\"", in: chart), 2, "marked series show their marker in the legend")
    }

    func testEverythingFromTheSearchResultIsEscaped() throws {
        var result = try Self.kneeResult()
        result.spec = ResultFile.Spec(path: "a<b>&'c\".yaml", text: "# </pre><script>alert(\"x\")</script>\n" + Self.fleetText)
        result.steps[2].reasons = ["<img src=x>"]
        result.steps[2].replay = "lwm2m-fleet run 'a<b>.yaml' --step 200/s"
        result.steps[2].resultFile = "steps/<step-03>.json"
        result.steps[2].verdict = .interrupted
        result.answer.notes = ["</table><b>note</b>"]
        result.toolFailure = "<blink>failed</blink>"
        let page = HTMLReport.render(result, path: "<search>.json")
        for raw in ["<script", "</pre><", "<img", "<b>", "a<b>", "<search>", "<step-03>", "<blink>", "</table><b>"] {
            XCTAssertFalse(page.contains(raw), raw)
        }
        for escaped in ["&lt;/pre&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", "a&lt;b&gt;&amp;&#39;c&quot;.yaml", "&lt;img src=x&gt;",
                        "&#39;a&lt;b&gt;.yaml&#39;", "steps/&lt;step-03&gt;.json", "&lt;search&gt;.json", "&lt;blink&gt;failed&lt;/blink&gt;",
                        "&lt;/table&gt;&lt;b&gt;note&lt;/b&gt;", "register.latency.p99 &lt; 200ms"] {
            XCTAssertTrue(page.contains(escaped), escaped)
        }
        XCTAssertTrue(page.contains(">run result (--keep-steps)</th>"), "a kept step result is named")
        XCTAssertTrue(try chart("Load offered per step", in: page).contains(">interrupted</text>"), "an interrupted step has its own marker")
    }

    func testReportReadsWhichKindOfDocumentAFileIs() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let searchPath = directory.appendingPathComponent("search.json").path
        try Self.kneeResult().write(to: searchPath)
        let runPath = directory.appendingPathComponent("run.json").path
        try ResultSchemaTests.richResult().write(to: runPath)
        guard case .search(let search) = try ReportDocument.read(from: searchPath) else { return XCTFail("a search result") }
        XCTAssertEqual(search, try Self.kneeResult())
        guard case .run = try ReportDocument.read(from: runPath) else { return XCTFail("a run's result") }

        for (name, text, message) in [
            ("neither.json", #"{"schemaVersion": 3, "answer": {}}"#, "neither"),
            ("other.json", #"{"document": "lwm2m-fleet compare", "schemaVersion": 1}"#, "a document \"lwm2m-fleet compare\""),
            ("list.json", "[1, 2]", "not a JSON object"),
            ("newer.json", #"{"document": "lwm2m-fleet search", "schemaVersion": 99}"#, "search result schema version 99"),
        ] {
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ReportDocument.read(from: path), name) { error in
                let description = "\(error)"
                XCTAssertTrue(description.hasPrefix(path + ": "), description)
                if message != "neither" {
                    XCTAssertTrue(description.contains(message), description)
                } else {
                    XCTAssertTrue(description.contains("schemaVersion and metrics") && description.contains("document: \"lwm2m-fleet search\""), description)
                }
            }
        }
    }

    func testTheReportCommandWritesASearchPageAndRefusesJSONOfNeitherKind() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let searchPath = directory.appendingPathComponent("search.json").path
        let pagePath = directory.appendingPathComponent("search.html").path
        try Self.kneeResult().write(to: searchPath)
        let report = try BinaryRun.run(["report", searchPath, "--out", pagePath])
        XCTAssertEqual(report.status, 0, report.errors)
        XCTAssertTrue(report.output.contains("report: \(pagePath)"), report.output)
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        XCTAssertEqual(page, HTMLReport.render(try SearchResult.read(from: searchPath), path: searchPath))

        let neither = directory.appendingPathComponent("neither.json").path
        try #"{"schemaVersion": 3, "steps": []}"#.write(toFile: neither, atomically: true, encoding: .utf8)
        let refused = try BinaryRun.run(["report", neither, "--out", pagePath])
        XCTAssertEqual(refused.status, 104, refused.errors)
        XCTAssertTrue(refused.errors.contains("\(neither): not an lwm2m-fleet result file or search result"), refused.errors)
        XCTAssertEqual(try String(contentsOfFile: pagePath, encoding: .utf8), page, "a refused file writes no page")
    }

    /// The search page in headless Chromium: every chart is in the page it built, with a marker per
    /// step, and the screenshot shows the outcomes' colours, which a page whose charts did not
    /// draw lacks.
    func testChromiumDrawsTheChartsOfASearchReport() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let chromium = try HeadlessChromium(profileIn: directory)
        let result = try Self.kneeResult()
        let searchPath = directory.appendingPathComponent("search.json").path
        let pagePath = directory.appendingPathComponent("search.html").path
        try result.write(to: searchPath)
        let report = try BinaryRun.run(["report", searchPath, "--out", pagePath])
        XCTAssertEqual(report.status, 0, report.errors)

        let dom = try chromium.dumpDOM(of: pagePath)
        XCTAssertEqual(occurrences(of: "<svg class=\"chart", in: dom), expectedChartCount(result), "every chart is in the page Chromium built")
        XCTAssertGreaterThanOrEqual(occurrences(of: "class=\"marker\"", in: dom), expectedChartCount(result) * result.steps.count)
        XCTAssertGreaterThanOrEqual(occurrences(of: "<polyline", in: dom), expectedChartCount(result))

        let image = try chromium.screenshot(of: pagePath, to: directory.appendingPathComponent("page.png").path, width: 1400, height: 2400)
        XCTAssertEqual([image.width, image.height], [1400, 2400])
        XCTAssertGreaterThan(image.distinctColors().count, 20, "a blank page has one or two colours")
        // Each chart's legend has a solid swatch of the line's colour; the passed steps' circles are
        // solid green in every chart.
        XCTAssertGreaterThanOrEqual(image.count(of: 0x1F77B4), 100 * expectedChartCount(result), "the line's swatch in every legend")
        XCTAssertGreaterThanOrEqual(image.count(of: 0x2CA02C), 30 * expectedChartCount(result), "the passed steps' markers")

        let blankPage = directory.appendingPathComponent("blank.html").path
        try String(contentsOfFile: pagePath, encoding: .utf8).replacingOccurrences(of: "<svg class=", with: "<svg style=\"display:none\" class=")
            .write(toFile: blankPage, atomically: true, encoding: .utf8)
        let blank = try chromium.screenshot(of: blankPage, to: directory.appendingPathComponent("blank.png").path, width: 1400, height: 2400)
        XCTAssertEqual(blank.count(of: 0x1F77B4) + blank.count(of: 0x2CA02C), 0, "no chart, no series or outcome colour")
    }

    private static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("search-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
