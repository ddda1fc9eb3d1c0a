@testable import Fleet
import Foundation
// ServerViolation has no public initializer: only devices report violations.
@testable import LwM2MClient
import XCTest

/// `lwm2m-fleet report`: a self-contained page with a chart per series of the result, everything
/// from the result escaped, long series downsampled exactly, and, where Chromium is installed,
/// charts that really draw.
final class ReportTests: XCTestCase {
    /// Charts the page must have for `result`, counted from the result itself: arrivals, devices by
    /// state and all operations; per operation of the time series its rate and failures, and its
    /// latency when it has any; the loop's lag; the arrivals' lateness when any; the distributions.
    private func expectedChartCount(_ result: ResultFile) -> Int {
        let series = result.metrics.timeSeries
        let operations = Set(series.flatMap(\.operations.keys))
        let perOperation = operations.reduce(0) { total, name in
            total + (series.contains { ($0.window(of: name)?.latency.count ?? 0) > 0 } ? 3 : 2)
        }
        let lateness = series.contains { $0.arrivalLateness.count > 0 } ? 1 : 0
        return 3 + perOperation + 1 + lateness + 1
    }

    private func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    func testThePageHasAChartPerSeriesOfTheResultAndNoScriptOrLink() throws {
        let result = try ResultSchemaTests.richResult()
        let page = HTMLReport.render(result, path: "rich.json")
        XCTAssertTrue(page.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(occurrences(of: "<svg class=\"chart", in: page), expectedChartCount(result))
        XCTAssertEqual(occurrences(of: "<svg class=\"chart percentile-plot\"", in: page), 1)
        for operation in ["register", "write-attributes", "read", "deregister"] {
            XCTAssertTrue(page.contains("aria-label=\"\(operation): rate\""), operation)
        }
        XCTAssertTrue(page.contains("aria-label=\"register: latency\""))
        XCTAssertFalse(page.contains("aria-label=\"read: latency\""), "a request answered has no latency to plot")
        // Self-contained: nothing to fetch, nothing to run.
        for fetched in ["<script", "<link", "src=", "@import", "url("] {
            XCTAssertFalse(page.contains(fetched), fetched)
        }
        // The facts a reader looks for.
        for fact in ["16045690981116495207", ToolVersion.current, "register.latency.p99 &lt; 200ms", "no samples", "missing stripes", "3/8"] {
            XCTAssertTrue(page.contains(fact), fact)
        }
    }

    func testEverythingFromTheResultIsEscaped() throws {
        var metrics = FleetMetrics()
        metrics.recordOperation("x<img>", outcome: .succeeded, code: .created, latencyNanoseconds: 1_000_000, serviceNanoseconds: 1)
        metrics.recordStateChange(from: .idle, to: .registered)
        metrics.closeInterval(elapsedNanoseconds: 1_000_000_000)
        let text = "# </pre><script>alert(\"x\")</script>\n" + ResultSchemaTests.fleetText
        let result = ResultFile(
            toolVersion: ToolVersion.current, seed: 1, spec: ResultFile.Spec(path: "a<b>&'c\".yaml", text: text),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T12:00:01Z", interrupted: false, metrics: metrics,
            thresholds: [ThresholdResult(expression: "violations < 1 <b>", metric: "violations", observed: 0, passed: true)])
        XCTAssertNotNil(result.spec.fleet, "a comment does not keep the text from parsing")
        let page = HTMLReport.render(result, path: "<result>.json")
        for raw in ["<script", "</pre><", "<img>", "<b>", "a<b>", "<result>"] {
            XCTAssertFalse(page.contains(raw), raw)
        }
        for escaped in ["&lt;/pre&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", "x&lt;img&gt;: rate", "a&lt;b&gt;&amp;&#39;c&quot;.yaml",
                        "violations &lt; 1 &lt;b&gt;", "&lt;result&gt;.json"] {
            XCTAssertTrue(page.contains(escaped), escaped)
        }
    }

    func testALongSeriesIsDownsampledByMergingItsSecondsAndSaysSo() throws {
        var metrics = FleetMetrics()
        let seconds = 5_000
        for second in 1...seconds {
            // Every fifth second has two slow registers among 20: 2 % of a merged point's 100, so its
            // p99 is slow, where the mean of the seconds' p99s would be a fifth of that.
            for index in 0..<20 {
                let slow = second % 5 == 0 && index < 2
                metrics.recordOperation("register", outcome: .succeeded, code: .created,
                                        latencyNanoseconds: slow ? 900_000_000 : 2_000_000, serviceNanoseconds: 1)
            }
            metrics.recordLoopLag(nanoseconds: 50_000)
            metrics.closeInterval(elapsedNanoseconds: UInt64(second) * 1_000_000_000)
        }
        let timeline = ReportTimeline(metrics.timeSeries, maximumPoints: HTMLReport.maximumPointsPerChart)
        XCTAssertEqual(timeline.intervalsPerPoint, 5)
        XCTAssertEqual(timeline.points.count, 1_000)
        let point = try XCTUnwrap(timeline.points.first?.operations["register"])
        XCTAssertEqual(point.count, 100)
        XCTAssertEqual(try XCTUnwrap(point.latency.p99), 900_000_000, accuracy: 9_000_000, "the p99 of the five seconds merged")
        XCTAssertEqual(try XCTUnwrap(point.latency.p50), 2_000_000, accuracy: 20_000)
        XCTAssertEqual(timeline.points.first?.seconds, 5)

        let result = ResultFile(
            toolVersion: ToolVersion.current, seed: 1, spec: ResultFile.Spec(path: "long.yaml", text: ResultSchemaTests.fleetText),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T13:23:20Z", interrupted: false, metrics: metrics, thresholds: [])
        let page = HTMLReport.render(result, path: "long.json")
        XCTAssertTrue(page.contains("Downsampled: each point merges 5 one-second intervals of 5000"))
        let longest = page.components(separatedBy: "points=\"").dropFirst().map { $0.prefix { $0 != "\"" }.split(separator: " ").count }.max()
        XCTAssertLessThanOrEqual(try XCTUnwrap(longest), HTMLReport.maximumPointsPerChart)
        XCTAssertLessThan(page.utf8.count, 2_000_000, "a page of reasonable size")
    }

    func testTheReportCommandWritesThePageAndRefusesWhatIsNotAResult() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let resultPath = directory.appendingPathComponent("result.json").path
        let pagePath = directory.appendingPathComponent("report.html").path
        try ResultSchemaTests.richResult().write(to: resultPath)

        let report = try BinaryRun.run(["report", resultPath, "--out", pagePath])
        XCTAssertEqual(report.status, 0, report.errors)
        XCTAssertTrue(report.output.contains("report: \(pagePath)"), report.output)
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        XCTAssertEqual(page, HTMLReport.render(try ResultFile.read(from: resultPath), path: resultPath))

        let notAResult = directory.appendingPathComponent("fleet.yaml").path
        try ResultSchemaTests.fleetText.write(toFile: notAResult, atomically: true, encoding: .utf8)
        let refused = try BinaryRun.run(["report", notAResult, "--out", pagePath])
        XCTAssertEqual(refused.status, 104, refused.errors)
        XCTAssertTrue(refused.errors.contains(notAResult) && refused.errors.contains("not an lwm2m-fleet result file"), refused.errors)

        let unwritable = try BinaryRun.run(["report", resultPath, "--out", directory.appendingPathComponent("no/such/dir/r.html").path])
        XCTAssertEqual(unwritable.status, 104, unwritable.errors)
        XCTAssertTrue(unwritable.errors.contains("cannot write the report"), unwritable.errors)
    }

    /// A real run's report in headless Chromium (Debian's `chromium`, which `make` installs): the
    /// screenshot is not blank and shows the charts' colours, and the page Chromium built has
    /// every chart with its lines.
    func testChromiumDrawsTheChartsOfARealRunsReport() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        let chromium = try HeadlessChromium(profileIn: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fleet = directory.appendingPathComponent("fleet.yaml").path
        try """
            seed: 5
            server: { embedded: { read: [/3/0] } }
            devices:
              - count: 20
                bootstrap: client-initiated
            stages:
              - { duration: 2s, target: 20/s }
              - { duration: 1s, hold: true }
            thresholds:
              - register.failed.rate == 0
            """.write(toFile: fleet, atomically: true, encoding: .utf8)
        let resultPath = directory.appendingPathComponent("result.json").path
        let pagePath = directory.appendingPathComponent("report.html").path
        let run = try BinaryRun.run(["run", fleet, "--out", resultPath, "--quiet", "--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output + run.errors)
        let result = try XCTUnwrap(ResultSchema.read(resultPath))
        let report = try BinaryRun.run(["report", resultPath, "--out", pagePath])
        XCTAssertEqual(report.status, 0, report.errors)
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        let charts = expectedChartCount(result)
        XCTAssertEqual(occurrences(of: "<svg class=\"chart", in: page), charts)

        let dom = try chromium.dumpDOM(of: pagePath)
        XCTAssertEqual(occurrences(of: "<svg class=\"chart", in: dom), charts, "every chart is in the page Chromium built")
        XCTAssertGreaterThanOrEqual(occurrences(of: "<polyline", in: dom), charts - 1, "lines drawn (a chart of one lone point has a dot)")

        let image = try chromium.screenshot(of: pagePath, to: directory.appendingPathComponent("page.png").path, width: 1280, height: 4000)
        XCTAssertEqual([image.width, image.height], [1280, 4000])
        XCTAssertGreaterThan(image.distinctColors().count, 20, "a blank page has one or two colours")
        // The legends' swatches are solid squares of the palette's first two colours.
        XCTAssertGreaterThanOrEqual(image.count(of: 0x1F77B4), 100, "the first series' colour is on screen")
        XCTAssertGreaterThanOrEqual(image.count(of: 0xD62728), 100, "the second series' colour is on screen")

        // The same checks tell a page whose charts did not draw: only its background and text.
        let blankPage = directory.appendingPathComponent("blank.html").path
        try page.replacingOccurrences(of: "<svg class=", with: "<svg style=\"display:none\" class=")
            .write(toFile: blankPage, atomically: true, encoding: .utf8)
        let blank = try chromium.screenshot(of: blankPage, to: directory.appendingPathComponent("blank.png").path, width: 1280, height: 4000)
        XCTAssertEqual(blank.count(of: 0x1F77B4), 0, "no chart, no series colour")
    }

    func testChartAxesTakeRoundTicksAndThePercentileAxisCountsNines() {
        let scale = ChartScale(from: 0, to: 93, tickCount: 4)
        XCTAssertEqual(scale.ticks, [0, 20, 40, 60, 80, 100])
        let flat = ChartScale(from: 0, to: 0)
        XCTAssertEqual([flat.lower, flat.upper, Double(flat.ticks.count)], [0, 1, 6], "a flat line still has an axis")
        XCTAssertEqual(ChartScale(from: 0, to: 7_400, tickCount: 4).ticks, [0, 2_000, 4_000, 6_000, 8_000])
        XCTAssertEqual([1_500, 25_000, 3_000_000, 0.25].map(ChartScale.label), ["1500", "25k", "3M", "0.25"])
        XCTAssertEqual((0...5).map { SVGPercentilePlot.percentileLabel(Double($0)) }, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
        var histogram = LatencyHistogram()
        for value: UInt64 in 1...1_000 { histogram.record(value * 1_000_000) }
        let points = SVGPercentilePlot.points(of: histogram)
        XCTAssertEqual(points.first?.x, 0)
        XCTAssertEqual(points.last?.x ?? 0, 3, accuracy: 1e-9, "1,000 samples tell percentiles apart up to 99.9 %")
        XCTAssertEqual(points.last?.y, 1_000, "ending at the exact maximum, in ms")
        XCTAssertEqual(try XCTUnwrap(points[20].y), 900, accuracy: 1, "x = 1 is the 90th percentile")
    }
}
