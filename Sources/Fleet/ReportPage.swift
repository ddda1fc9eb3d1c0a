/// One kind of document `lwm2m-fleet report` renders (a run's or merged result, a search
/// result): its title and its body. `HTMLReport` wraps it into a page.
protocol ReportPage {
    /// The page's title, plain text.
    var title: String { get }
    /// The body's HTML: everything from the result escaped, charts as inline SVG, no script.
    func bodyHTML() -> String
}

/// `lwm2m-fleet report`: a self-contained HTML page for a result, with its charts drawn as inline
/// SVG and its style inline, so it opens anywhere with no network and nothing fetched.
public enum HTMLReport {
    /// The time series points a chart plots at most; longer series are downsampled.
    public static let maximumPointsPerChart = 1_200

    /// The page for a run's (or merged) result read from `path`.
    public static func render(_ result: ResultFile, path: String) -> String {
        document(for: RunReportPage(result: result, path: path))
    }

    /// The page for a search result read from `path`.
    public static func render(_ result: SearchResult, path: String) -> String {
        document(for: SearchReportPage(result: result, path: path))
    }

    /// The page for whichever document `path` held.
    public static func render(_ document: ReportDocument, path: String) -> String {
        switch document {
        case .run(let result): render(result, path: path)
        case .search(let result): render(result, path: path)
        }
    }

    static func document(for page: some ReportPage) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="lwm2m-fleet \(HTMLText.escape(ToolVersion.current))">
        <title>\(HTMLText.escape(page.title))</title>
        <style>\(style)</style>
        </head>
        <body>
        \(page.bodyHTML())
        </body>
        </html>

        """
    }

    private static let style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 24px; color: #222; \
        background: #f6f7f9; max-width: 1440px; }
        h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ccd; } \
        h3 { font-size: 15px; margin: 16px 0 6px; }
        table { border-collapse: collapse; background: #fff; font-size: 13px; margin: 4px 0 12px; }
        th, td { border: 1px solid #dde; padding: 3px 8px; text-align: right; } th { background: #eef0f4; }
        td.text, th.text { text-align: left; } td code { white-space: nowrap; font-size: 12px; }
        .pass { color: #17803d; font-weight: 600; } .fail { color: #c0262d; font-weight: 600; } .warn { color: #b25e00; font-weight: 600; }
        .verdict { font-size: 18px; padding: 6px 10px; display: inline-block; background: #fff; border: 1px solid #ccd; }
        .facts td { text-align: left; }
        .charts { display: flex; flex-wrap: wrap; gap: 10px; }
        figure.chart-figure { margin: 0; background: #fff; border: 1px solid #dde; }
        figcaption { font-size: 11px; color: #666; padding: 0 8px 6px; max-width: 420px; }
        svg.chart text { font-family: inherit; } .chart-title { font-size: 13px; font-weight: 600; fill: #222; }
        .chart-unit { font-weight: 400; fill: #666; } .tick { font-size: 10px; fill: #555; } .legend { font-size: 11px; fill: #333; }
        .empty { font-size: 12px; fill: #999; } .grid { stroke: #e6e8ee; stroke-width: 1; } .axis { stroke: #888; stroke-width: 1; }
        .wide { overflow-x: auto; }
        pre { background: #fff; border: 1px solid #dde; padding: 10px; font-size: 12px; overflow-x: auto; }
        .note { font-size: 12px; color: #555; }
        """
}
