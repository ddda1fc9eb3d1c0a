import Foundation

/// The report of a run's or a merge's result: the verdict and the facts of the run, the
/// thresholds with what was observed, the fleet and its stages, charts over time (arrivals
/// against their target, devices by state, every operation's rate, latency and failures, the
/// generator's own lag and lateness), latency distributions, and the fleet file itself.
struct RunReportPage: ReportPage {
    let result: ResultFile
    /// The result file as the user named it.
    let path: String
    private let timeline: ReportTimeline

    init(result: ResultFile, path: String) {
        self.result = result
        self.path = path
        timeline = ReportTimeline(result.metrics.timeSeries, maximumPoints: HTMLReport.maximumPointsPerChart)
    }

    var title: String { "lwm2m-fleet report: \(result.spec.path)" }

    func bodyHTML() -> String {
        [header(), thresholds(), fleet(), stages(), charts(), distributions(), fleetFile()].joined(separator: "\n")
    }

    // MARK: Sections

    private func header() -> String {
        let metrics = result.metrics
        let verdict: String = switch result.exitStatus {
        case .passed: "<span class=\"pass\">PASS</span>: every threshold passed on a complete run"
        case .thresholdFailed: "<span class=\"fail\">FAIL</span>: a threshold failed"
        case .endedEarly where result.isPartial: "<span class=\"warn\">PARTIAL</span>: the merge left stripes out"
        case .endedEarly: "<span class=\"warn\">ENDED EARLY</span>: the run ended before its stages were done"
        case .invalidInput: "<span class=\"fail\">INVALID</span>"
        }
        var facts: [(String, String)] = [
            ("result file", path), ("fleet file", result.spec.path), ("seed", "\(result.seed)"),
            ("lwm2m-fleet", result.toolVersion), ("schema version", "\(result.schemaVersion)"),
            ("started", result.startedAt), ("finished", result.finishedAt),
            ("run took", "\(Self.fixed(result.elapsedSeconds, 1)) s"),
            ("how it ended", metrics.endReason?.rawValue ?? "unknown"),
            ("devices started", "\(metrics.arrivals)" + (metrics.returns > 0 ? " (\(metrics.returns) returns after churn)" : "")),
            ("workers", "\(result.workers ?? 1)"),
        ]
        if let shard = result.shard { facts.append(("shard", "\(shard) of the fleet")) }
        if let missing = result.missingStripes, !missing.isEmpty {
            facts.append(("missing stripes", missing.map(\.description).joined(separator: ", ")))
        }
        facts.append(("violations", "\(metrics.violations) (ignored, not proven: \(metrics.ignoredUnproven))"))
        facts.append(("dropped arrivals", "\(metrics.droppedArrivals)"))
        facts.append(("retransmissions", "\(metrics.retransmissions)"))
        if metrics.unfinishedDeviceCount > 0 {
            facts.append(("unfinished devices", metrics.unfinishedDevices.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
        }
        if let server = metrics.embeddedServer { facts.append(("embedded server", server.summaryLine)) }
        return """
            <h1>\(HTMLText.escape(title))</h1>
            <p class="verdict">\(verdict)</p>
            <table class="facts">\(facts.map { "<tr><th class=\"text\">\(HTMLText.escape($0.0))</th><td>\(HTMLText.escape($0.1))</td></tr>" }.joined())</table>
            """
    }

    private func thresholds() -> String {
        guard !result.thresholds.isEmpty else { return "<h2 id=\"thresholds\">Thresholds</h2><p class=\"note\">The fleet file sets none.</p>" }
        let rows = result.thresholds.map { threshold in
            let outcome = threshold.passed ? "<td class=\"pass\">PASS</td>" : "<td class=\"fail\">FAIL</td>"
            return "<tr>\(outcome)<td class=\"text\">\(HTMLText.escape(threshold.expression))</td>"
                + "<td>\(HTMLText.escape(SummaryTable.observed(threshold)))</td></tr>"
        }
        return """
            <h2 id="thresholds">Thresholds</h2>
            <table><tr><th>outcome</th><th class="text">threshold</th><th>observed</th></tr>\(rows.joined())</table>
            """
    }

    private func fleet() -> String {
        guard let fleet = result.spec.fleet else { return "<h2 id=\"fleet\">Fleet</h2><p class=\"note\">The fleet file's text does not parse.</p>" }
        let groups = fleet.groups.map { group in
            let security = group.security.map { "\($0.mode), keys from \($0.keySource), handshake \($0.handshake)\($0.resume ? ", resumes" : "")" }
            return Self.row([
                group.name ?? "-", "\(group.count)", "\(group.firstDeviceIndex)", group.endpoint, group.bootstrap, group.lwm2mVersion,
                "\(group.lifetimeSeconds) s", group.binding, group.sessionSeconds.map { "\(Self.fixed($0, 1)) s" } ?? "-",
                security ?? "none", group.faults == nil ? "none" : "yes",
            ], textColumns: [0, 3, 4, 9])
        }
        let server = fleet.server.kind == "embedded"
            ? "embedded" + (fleet.server.read.isEmpty ? "" : ", reads \(fleet.server.read.joined(separator: " "))")
                + (fleet.server.observe.isEmpty ? "" : ", observes \(fleet.server.observe.joined(separator: " "))")
                + (fleet.server.restart.map { ", restarts at \(Self.fixed($0.atSeconds, 0)) s for \(Self.fixed($0.downSeconds, 0)) s" } ?? "")
            : [fleet.server.serverURI, fleet.server.bootstrapURI].compactMap { $0 }.joined(separator: ", ")
        return """
            <h2 id="fleet">Fleet</h2>
            <p>\(fleet.deviceCount) devices in \(fleet.groups.count) group\(fleet.groups.count == 1 ? "" : "s"); server: \
            \(HTMLText.escape(server)); end: \(HTMLText.escape(fleet.end.mode)) at \(Self.fixed(fleet.end.deregistersPerSecond, 0))/s, \
            grace \(Self.fixed(fleet.end.graceSeconds, 0)) s.</p>
            <table><tr><th class="text">group</th><th>devices</th><th>first index</th><th class="text">endpoint</th>\
            <th class="text">bootstrap</th><th>LwM2M</th><th>lifetime</th><th>binding</th><th>session</th>\
            <th class="text">security</th><th>faults</th></tr>\(groups.joined())</table>
            """
    }

    private func stages() -> String {
        let planned = result.spec.fleet?.stages ?? []
        var sections: [String] = []
        var rows: [String] = []
        for stage in result.metrics.stages {
            let plan = stage.index < planned.count ? planned[stage.index] : nil
            let name = plan.map { "\($0.index + 1): \($0.arrivals)" } ?? "end of run"
            let rates = plan.map { $0.arrivals == "hold" ? "-" : "\(Self.fixed($0.startRatePerSecond, 1)) to \(Self.fixed($0.endRatePerSecond, 1))/s" }
            rows.append(Self.row([
                name, plan.map { "\(Self.fixed($0.startSeconds, 1)) s" } ?? "-", plan.map { "\(Self.fixed($0.durationSeconds, 1)) s" } ?? "-",
                rates ?? "-", "\(stage.arrivalsIntended)", "\(stage.arrivalsStarted)", "\(Self.fixed(stage.arrivalRateError * 100, 2)) %",
            ], textColumns: [0]))
            let operations = MetricCatalog.ordered(Array(stage.operations.keys)).compactMap { name in
                stage.operations[name].map { window in
                    let latency = window.latency.percentiles
                    return Self.row([
                        name, "\(window.count)", "\(window.failed)", "\(window.timeouts)", "\(window.retransmissions)",
                        Self.milliseconds(latency.p50), Self.milliseconds(latency.p99), Self.milliseconds(latency.max),
                    ], textColumns: [0])
                }
            }
            guard !operations.isEmpty else { continue }
            sections.append("""
                <h3>Stage \(HTMLText.escape(name))</h3>
                <table><tr><th class="text">operation</th><th>count</th><th>failed</th><th>timeouts</th><th>retransmissions</th>\
                <th>p50 ms</th><th>p99 ms</th><th>max ms</th></tr>\(operations.joined())</table>
                """)
        }
        return """
            <h2 id="stages">Stages</h2>
            <table><tr><th class="text">stage</th><th>starts</th><th>lasts</th><th>arrival rate</th><th>arrivals intended</th>\
            <th>started in it</th><th>rate error</th></tr>\(rows.joined())</table>
            <p class="note">Operations count in the stage in which they ended; the end of the run comes after the stages.</p>
            \(sections.joined(separator: "\n"))
            """
    }

    private func charts() -> String {
        let points = timeline.points
        let note = timeline.note
        let palette = SVGLineChart.palette
        var charts: [String] = []
        let arrivalsTarget = points.map { point in (x: point.endSeconds, y: targetRate(at: point.endSeconds - point.seconds / 2)) }
        charts.append(SVGLineChart(title: "Arrivals", unit: "devices per second", series: [
            .init(name: "achieved", color: palette[0], points: points.map { ($0.endSeconds, Self.rate($0.arrivals, $0)) }),
            .init(name: "dropped", color: palette[1], points: points.map { ($0.endSeconds, Self.rate($0.droppedArrivals, $0)) }),
            // Last and dashed: on top of an achieved rate that follows it.
            .init(name: "target", color: "#222222", points: arrivalsTarget, dashed: true),
        ], note: note).render())
        charts.append(SVGLineChart(
            title: "Devices by state", unit: "devices",
            series: timeline.deviceStates.enumerated().map { index, state in
                .init(name: state, color: palette[index % palette.count], points: points.map { ($0.endSeconds, Double($0.devicesByState[state] ?? 0)) })
            }, note: note).render())
        charts.append(SVGLineChart(title: "Operations, all together", unit: "per second", series: [
            .init(name: "ended", color: palette[0], points: points.map { point in (point.endSeconds, Self.rate(point.operations.values.reduce(0) { $0 + $1.count }, point)) }),
            .init(name: "failed", color: palette[1], points: points.map { point in (point.endSeconds, Self.rate(point.operations.values.reduce(0) { $0 + $1.failed }, point)) }),
        ], note: note).render())
        var operationCharts: [String] = []
        for name in timeline.operationNames {
            let windows = points.map { (x: $0.endSeconds, point: $0, window: $0.operations[name]) }
            operationCharts.append(SVGLineChart(title: "\(name): rate", unit: "per second", series: [
                .init(name: "ended", color: palette[0], points: windows.map { ($0.x, Self.rate($0.window?.count ?? 0, $0.point)) }),
            ], note: note).render())
            if hasLatency(name) {
                operationCharts.append(SVGLineChart(title: "\(name): latency", unit: "ms", series: [
                    .init(name: "p50", color: palette[0], points: windows.map { ($0.x, $0.window?.latency.p50.map { Double($0) / 1e6 }) }),
                    .init(name: "p99", color: palette[1], points: windows.map { ($0.x, $0.window?.latency.p99.map { Double($0) / 1e6 }) }),
                ], note: note).render())
            }
            operationCharts.append(SVGLineChart(title: "\(name): failures", unit: "per second", series: [
                .init(name: "failed", color: palette[1], points: windows.map { ($0.x, Self.rate($0.window?.failed ?? 0, $0.point)) }),
                .init(name: "timeouts", color: palette[3], points: windows.map { ($0.x, Self.rate($0.window?.timeouts ?? 0, $0.point)) }),
                .init(name: "retransmissions", color: palette[4], points: windows.map { ($0.x, Self.rate($0.window?.retransmissions ?? 0, $0.point)) }),
            ], note: note).render())
        }
        var generator = [SVGLineChart(title: "Event loop lag", unit: "ms", series: Self.percentileSeries(points.map { ($0.endSeconds, $0.loopLag) }),
                                      note: note ?? "How late the generator's loop ran its timers: its own health, not the server's.").render()]
        if hasArrivalLateness {
            generator.append(SVGLineChart(
                title: "Arrival lateness", unit: "ms", series: Self.percentileSeries(points.map { ($0.endSeconds, $0.arrivalLateness) }),
                note: note ?? "How long after its intended time each device started.").render())
        }
        return """
            <h2 id="over-time">Over time</h2>
            \(points.isEmpty ? "<p class=\"note\">The result has no time series.</p>" : "")
            <div class="charts">\(charts.joined())</div>
            <h3>Per operation</h3>
            <p class="note">Latency from each operation's intended start (so a late generator shows as latency), at two significant digits per second.</p>
            <div class="charts">\(operationCharts.joined())</div>
            <h3>The generator</h3>
            <div class="charts">\(generator.joined())</div>
            """
    }

    private func distributions() -> String {
        let operations = MetricCatalog.ordered(Array(result.metrics.operations.keys))
        let palette = SVGLineChart.palette
        let plotted = operations.filter { !(result.metrics.operations[$0]?.latency.isEmpty ?? true) }
        let plot = SVGPercentilePlot(
            title: "Latency distribution", series: plotted.enumerated().map { index, name in
                .init(name: name, color: palette[index % palette.count], histogram: result.metrics.operations[name]?.latency ?? LatencyHistogram())
            }, note: "Whole run, from the lossless histograms; each line ends at its exact maximum.").render()
        let rows = operations.compactMap { name in
            result.metrics.operations[name].map { operation in
                let latency = operation.latency.percentiles
                return Self.row([
                    name, "\(operation.count)", "\(operation.succeeded)", "\(operation.failed)", "\(operation.timeouts)",
                    "\(operation.unfinished)", "\(operation.retransmissions)", Self.milliseconds(latency.p50), Self.milliseconds(latency.p90),
                    Self.milliseconds(latency.p99), Self.milliseconds(latency.p999), Self.milliseconds(latency.max),
                ], textColumns: [0])
            }
        }
        return """
            <h2 id="distributions">Latency distributions</h2>
            <div class="charts">\(plot)</div>
            <table><tr><th class="text">operation</th><th>count</th><th>ok</th><th>failed</th><th>timeouts</th><th>unfinished</th>\
            <th>retransmissions</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p999 ms</th><th>max ms</th></tr>\(rows.joined())</table>
            """
    }

    private func fleetFile() -> String {
        """
        <h2 id="fleet-file">Fleet file</h2>
        <p class="note">\(HTMLText.escape(result.spec.path)), as it was when the run started.</p>
        <pre>\(HTMLText.escape(result.spec.text))</pre>
        """
    }

    // MARK: Data

    private func hasLatency(_ operation: String) -> Bool {
        timeline.points.contains { $0.operations[operation]?.latency.p50 != nil }
    }

    private var hasArrivalLateness: Bool {
        timeline.points.contains { $0.arrivalLateness.p50 != nil }
    }

    /// The arrivals per second the stages ask of the devices this result covers `seconds` into
    /// the run (a shard's share of the fleet's); nil without a parsed fleet.
    private func targetRate(at seconds: Double) -> Double? {
        guard let fleet = result.spec.fleet else { return nil }
        let stripes = [result.shard ?? .whole] + (result.missingStripes ?? [])
        let share = 1 / Double(stripes[0].count) - stripes.dropFirst().reduce(0) { $0 + 1 / Double($1.count) }
        guard let stage = fleet.stages.first(where: { seconds >= $0.startSeconds && seconds < $0.startSeconds + $0.durationSeconds }) else {
            return 0
        }
        let progress = stage.durationSeconds > 0 ? (seconds - stage.startSeconds) / stage.durationSeconds : 0
        return (stage.startRatePerSecond + (stage.endRatePerSecond - stage.startRatePerSecond) * progress) * share
    }

    /// A count per second of the point's seconds (at least one: a last, shorter interval is no burst).
    private static func rate(_ count: UInt64, _ point: ReportTimeline.Point) -> Double {
        Double(count) / max(point.seconds, 1)
    }

    private static func percentileSeries(_ points: [(x: Double, percentiles: LatencyPercentiles)]) -> [SVGLineChart.Series] {
        let palette = SVGLineChart.palette
        return [
            .init(name: "p50", color: palette[0], points: points.map { ($0.x, $0.percentiles.p50.map { Double($0) / 1e6 }) }),
            .init(name: "p99", color: palette[1], points: points.map { ($0.x, $0.percentiles.p99.map { Double($0) / 1e6 }) }),
            .init(name: "max", color: palette[8], points: points.map { ($0.x, $0.percentiles.max.map { Double($0) / 1e6 }) }),
        ]
    }

    private static func row(_ cells: [String], textColumns: Set<Int>) -> String {
        "<tr>" + cells.enumerated().map { index, cell in
            (textColumns.contains(index) ? "<td class=\"text\">" : "<td>") + HTMLText.escape(cell) + "</td>"
        }.joined() + "</tr>"
    }

    private static func milliseconds(_ nanoseconds: UInt64?) -> String {
        nanoseconds.map { String(format: "%.3f", Double($0) / 1e6) } ?? "-"
    }

    private static func fixed(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
