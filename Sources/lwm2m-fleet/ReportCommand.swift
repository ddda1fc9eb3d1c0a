import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet report`: one self-contained HTML page from a result file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a result file (of run or merge) as one self-contained HTML page with charts.",
        discussion: """
            The page opens in any browser with no network: its charts are inline SVG drawn by lwm2m-fleet and \
            it has no script. It shows the verdict, seed and versions, the thresholds with their observed values, \
            the fleet and its stages (what ended in each), charts over time (arrivals against their target, devices \
            by state, every operation's rate, p50/p99 latency, failures, timeouts and retransmissions, the loop's \
            lag and the arrivals' lateness), the latency distribution of every operation by percentile, and the \
            fleet file. Series longer than \(HTMLReport.maximumPointsPerChart) seconds are downsampled (merged \
            exactly), as the charts say. Exit 0, or 104 when the result cannot be read or the page cannot be written.
            """
    )

    @Argument(help: "A result file written by `run --out` or `merge --out`.")
    var result: String

    @Option(name: .long, help: "Where to write the HTML page.")
    var out: String = "report.html"

    func run() throws {
        let document: ResultFile
        do {
            document = try ResultFile.read(from: result)
        } catch {
            throw ValidationError("\(error)")
        }
        let page = HTMLReport.render(document, path: result)
        do {
            try Data(page.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw ValidationError("\(out): cannot write the report: \(error.localizedDescription); check the directory exists and is writable")
        }
        print("report: \(out) (\(page.utf8.count / 1024) KiB)")
    }
}
