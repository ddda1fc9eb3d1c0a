import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet report`: one self-contained HTML page from a result file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a result file (of run or merge) or a search result as one self-contained HTML page with charts.",
        discussion: """
            The page opens in any browser with no network: its charts are inline SVG drawn by lwm2m-fleet and \
            it has no script. For a run's or merged result it shows the verdict, seed and versions, the thresholds with \
            their observed values, the fleet and its stages (what ended in each), charts over time (arrivals against \
            their target, devices by state, every operation's rate, p50/p99 latency, failures, timeouts and \
            retransmissions, the loop's lag and the arrivals' lateness), the latency distribution of every operation by \
            percentile, and the fleet file. Series longer than \(HTMLReport.maximumPointsPerChart) seconds are \
            downsampled (merged exactly), as the charts say. For a search result (search --out) it shows the answer \
            (highest sustainable load, lowest failing load, what broke first and the registry size then, the plateau, \
            the generator's health), the plan, charts of the steps (load and outcome, accepted against offered, each \
            threshold's metric and the generator's lag and rate error against their limits, devices registered), \
            every step with its replay command, and the fleet file. Exit 0, or 104 when the file is neither kind of \
            result this version reads or the page cannot be written.
            """
    )

    @Argument(help: "A result file written by `run --out` or `merge --out`, or a search result written by `search --out`.")
    var result: String

    @Option(name: .long, help: "Where to write the HTML page.")
    var out: String = "report.html"

    func run() throws {
        let document: ReportDocument
        do {
            document = try ReportDocument.read(from: result)
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
