import Foundation

/// Latency by percentile as HdrHistogram plots it, as inline SVG text: the x axis is the
/// percentile on a 1/(1-p) log scale (0 %, 90 %, 99 %, ... 99.999 %), so the tail gets as much
/// room as the median; the y axis is the latency in milliseconds.
struct SVGPercentilePlot {
    /// One operation's (or the loop's) histogram and its colour.
    struct Series {
        var name: String
        var color: String
        var histogram: LatencyHistogram
    }

    var title: String
    var series: [Series]
    var note: String?
    var width = 940.0
    var plotHeight = 260.0

    /// Nines shown: up to 99.999 %.
    private static let decades = 5.0
    /// Points per decade of 1/(1-p).
    private static let stepsPerDecade = 20.0

    func render() -> String {
        let lines = series.filter { !$0.histogram.isEmpty }.map { line in
            SVGLineChart.Series(name: line.name, color: line.color, points: Self.points(of: line.histogram))
        }
        let highest = lines.flatMap { $0.points.compactMap(\.y) }.max() ?? 1
        var chart = SVGLineChart(title: title, unit: "ms by percentile", series: lines, note: note)
        chart.width = width
        chart.plotHeight = plotHeight
        chart.xLabel = "percentile"
        return chart.render(
            xScale: ChartScale(lower: 0, upper: Self.decades, ticks: (0...Int(Self.decades)).map(Double.init)),
            xTickLabel: Self.percentileLabel, yScale: ChartScale(from: 0, to: highest, tickCount: 5), svgClass: "chart percentile-plot")
    }

    /// (log10(1/(1-p)), milliseconds) from the median's start to the highest percentile the
    /// samples tell apart, ending at the exact maximum.
    static func points(of histogram: LatencyHistogram) -> [(x: Double, y: Double?)] {
        let reachable = min(decades, log10(Double(max(histogram.count, 1))))
        var points: [(x: Double, y: Double?)] = []
        var step = 0.0
        while step / stepsPerDecade <= reachable {
            let x = step / stepsPerDecade
            let percentile = (1 - pow(10, -x)) * 100
            points.append((x, Double(histogram.value(atPercentile: percentile)) / 1e6))
            step += 1
        }
        points.append((reachable, Double(histogram.max) / 1e6))
        return points
    }

    /// `0%`, `90%`, `99%`, `99.9%`, ... for log10(1/(1-p)) = 0, 1, 2, 3, ...
    static func percentileLabel(_ decade: Double) -> String {
        let nines = Int(decade.rounded())
        switch nines {
        case 0: return "0%"
        case 1: return "90%"
        case 2: return "99%"
        default: return "99." + String(repeating: "9", count: nines - 2) + "%"
        }
    }
}
