import Foundation

/// A line chart over time as inline SVG text: data in, markup out, no script. Each series is a
/// polyline; a gap (a nil value, such as a latency in a second without samples) breaks its line,
/// and a lone point is drawn as a dot. A series may instead (or also) mark each point with a shape,
/// so points of one kind (a search step's outcome) stand apart from the others.
struct SVGLineChart {
    /// The shape drawn at each point of a marked series, and in its legend.
    enum Marker: String {
        case circle, square, diamond, triangle, cross
    }

    /// One line: its name in the legend, its colour, and its points (x ascending); a dashed line
    /// stays visible under another that runs along it (a target under what was achieved).
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double?)]
        var dashed = false
        /// The shape drawn at every point; nil for none.
        var marker: Marker? = nil
        /// Whether the points are joined by a line; marked points of a scatter are not.
        var joined = true
    }

    var title: String
    /// The unit of the y axis, after the title (`ms`, `per second`).
    var unit: String
    var series: [Series]
    /// Said under the chart (how the points were downsampled, what a value means).
    var note: String?
    var xLabel = "seconds from the start"
    var width = 436.0
    var plotHeight = 150.0

    /// The chart's colours, in the order series take them.
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    private static let left = 52.0, right = 14.0, top = 30.0, axisBelow = 34.0, legendRowHeight = 16.0, legendItemWidth = 124.0

    /// The chart's figure; the axes fit the data unless given (with the x ticks' labels).
    func render(
        xScale givenXScale: ChartScale? = nil, xTickLabel: (Double) -> String = ChartScale.label, yScale givenYScale: ChartScale? = nil,
        svgClass: String = "chart line-chart"
    ) -> String {
        let plotWidth = width - Self.left - Self.right
        let perRow = max(1, Int(plotWidth / Self.legendItemWidth))
        let legendRows = (series.count + perRow - 1) / perRow
        let height = Self.top + plotHeight + Self.axisBelow + Double(legendRows) * Self.legendRowHeight + 6
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { $0.points.compactMap(\.y) }
        // Time starts at the run's start, before the first point (the end of the first second).
        let xScale = givenXScale ?? ChartScale(from: min(0, xs.min() ?? 0), to: xs.max() ?? 1, tickCount: 6)
        let yScale = givenYScale ?? ChartScale(from: min(0, ys.min() ?? 0), to: ys.max() ?? 1, tickCount: 4)
        func x(_ value: Double) -> Double { Self.left + xScale.offset(of: value, across: plotWidth) }
        func y(_ value: Double) -> Double { Self.top + plotHeight - yScale.offset(of: value, across: plotHeight) }

        var svg = """
            <svg class="\(svgClass)" xmlns="http://www.w3.org/2000/svg" width="\(Self.number(width))" \
            height="\(Self.number(height))" viewBox="0 0 \(Self.number(width)) \(Self.number(height))" role="img" \
            aria-label="\(HTMLText.escape(title))">
            <rect x="0" y="0" width="\(Self.number(width))" height="\(Self.number(height))" fill="#ffffff"/>
            <text x="\(Self.number(Self.left))" y="18" class="chart-title">\(HTMLText.escape(title)) \
            <tspan class="chart-unit">(\(HTMLText.escape(unit)))</tspan></text>

            """
        for tick in yScale.ticks {
            svg += """
                <line x1="\(Self.number(Self.left))" x2="\(Self.number(Self.left + plotWidth))" y1="\(Self.number(y(tick)))" \
                y2="\(Self.number(y(tick)))" class="grid"/>\
                <text x="\(Self.number(Self.left - 4))" y="\(Self.number(y(tick) + 4))" class="tick" text-anchor="end">\
                \(ChartScale.label(tick))</text>

                """
        }
        for tick in xScale.ticks {
            // The last label ends at the axis's end rather than past the chart's edge.
            let anchor = tick == xScale.ticks.last ? "end" : "middle"
            svg += """
                <line x1="\(Self.number(x(tick)))" x2="\(Self.number(x(tick)))" y1="\(Self.number(Self.top + plotHeight))" \
                y2="\(Self.number(Self.top + plotHeight + 4))" class="axis"/>\
                <text x="\(Self.number(x(tick)))" y="\(Self.number(Self.top + plotHeight + 16))" class="tick" text-anchor="\(anchor)">\
                \(HTMLText.escape(xTickLabel(tick)))</text>

                """
        }
        svg += """
            <line x1="\(Self.number(Self.left))" x2="\(Self.number(Self.left + plotWidth))" y1="\(Self.number(Self.top + plotHeight))" \
            y2="\(Self.number(Self.top + plotHeight))" class="axis"/>
            <text x="\(Self.number(Self.left + plotWidth))" y="\(Self.number(Self.top + plotHeight + 29))" class="tick" \
            text-anchor="end">\(HTMLText.escape(xLabel))</text>

            """
        if ys.isEmpty {
            svg += """
                <text x="\(Self.number(Self.left + plotWidth / 2))" y="\(Self.number(Self.top + plotHeight / 2))" class="empty" \
                text-anchor="middle">no samples</text>

                """
        }
        for line in series {
            for run in Self.runs(of: line.points) where line.joined {
                if run.count == 1 {
                    // A marked series shows its lone point by its marker.
                    guard line.marker == nil else { continue }
                    svg += "<circle cx=\"\(Self.number(x(run[0].x)))\" cy=\"\(Self.number(y(run[0].y)))\" r=\"2\" fill=\"\(line.color)\"/>\n"
                } else {
                    let points = run.map { "\(Self.number(x($0.x))),\(Self.number(y($0.y)))" }.joined(separator: " ")
                    let dash = line.dashed ? " stroke-dasharray=\"5 3\"" : ""
                    svg += "<polyline class=\"series\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\"\(dash) points=\"\(points)\"/>\n"
                }
            }
            if let marker = line.marker {
                for point in line.points {
                    guard let value = point.y else { continue }
                    svg += Self.shape(marker, atX: x(point.x), y: y(value), color: line.color, svgClass: "marker") + "\n"
                }
            }
        }
        for (index, line) in series.enumerated() {
            let itemX = Self.left + Double(index % perRow) * Self.legendItemWidth
            let itemY = Self.top + plotHeight + Self.axisBelow + Double(index / perRow) * Self.legendRowHeight
            let swatch = line.marker.map { Self.shape($0, atX: itemX + 5, y: itemY + 5, color: line.color, svgClass: "legend-marker") }
                ?? "<rect x=\"\(Self.number(itemX))\" y=\"\(Self.number(itemY))\" width=\"10\" height=\"10\" fill=\"\(line.color)\"/>"
            svg += """
                \(swatch)<text x="\(Self.number(itemX + 14))" y="\(Self.number(itemY + 9))" class="legend">\(HTMLText.escape(line.name))</text>

                """
        }
        svg += "</svg>"
        let caption = note.map { "<figcaption>\(HTMLText.escape($0))</figcaption>" } ?? ""
        return "<figure class=\"chart-figure\">\(svg)\(caption)</figure>\n"
    }

    /// A marker centred on (x, y), about 9 pixels across.
    private static func shape(_ marker: Marker, atX x: Double, y: Double, color: String, svgClass: String) -> String {
        let (cx, cy) = (number(x), number(y))
        switch marker {
        case .circle:
            return "<circle class=\"\(svgClass)\" cx=\"\(cx)\" cy=\"\(cy)\" r=\"4.5\" fill=\"\(color)\"/>"
        case .square:
            return "<rect class=\"\(svgClass)\" x=\"\(number(x - 4))\" y=\"\(number(y - 4))\" width=\"8\" height=\"8\" fill=\"\(color)\"/>"
        case .diamond:
            let points = [(x, y - 5.5), (x + 5.5, y), (x, y + 5.5), (x - 5.5, y)].map { "\(number($0.0)),\(number($0.1))" }
            return "<polygon class=\"\(svgClass)\" points=\"\(points.joined(separator: " "))\" fill=\"\(color)\"/>"
        case .triangle:
            let points = [(x, y - 5.5), (x + 5.5, y + 4.5), (x - 5.5, y + 4.5)].map { "\(number($0.0)),\(number($0.1))" }
            return "<polygon class=\"\(svgClass)\" points=\"\(points.joined(separator: " "))\" fill=\"\(color)\"/>"
        case .cross:
            let (left, right, top, bottom) = (number(x - 4.5), number(x + 4.5), number(y - 4.5), number(y + 4.5))
            return "<path class=\"\(svgClass)\" d=\"M\(left),\(top)L\(right),\(bottom)M\(left),\(bottom)L\(right),\(top)\" "
                + "stroke=\"\(color)\" stroke-width=\"3\" fill=\"none\"/>"
        }
    }

    /// The stretches of consecutive points with a value.
    private static func runs(of points: [(x: Double, y: Double?)]) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = []
        var current: [(x: Double, y: Double)] = []
        for point in points {
            if let value = point.y {
                current.append((point.x, value))
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// Coordinates to a tenth of a pixel: enough for the eye, and a small page.
    static func number(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }
}
