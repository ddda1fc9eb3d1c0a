import ArgumentParser
import Fleet
import Foundation

/// `--metrics-port` and `--metrics-address`, which `run` and `serve` both take.
struct MetricsOptions: ParsableArguments {
    @Option(name: .long, help: "Serve live metrics (Prometheus text) at http://ADDRESS:PORT/metrics while it runs (a run with workers: one endpoint for the whole fleet); 0 picks a free port, printed on stderr at the start.")
    var metricsPort: UInt16?

    @Option(name: .long, help: "The address --metrics-port listens on (0.0.0.0 for every interface).")
    var metricsAddress = "127.0.0.1"

    /// Starts the endpoint serving `live` and says where it listens; nil without `--metrics-port`.
    func startEndpoint(serving live: LiveMetrics) throws -> MetricsEndpoint? {
        guard let metricsPort else { return nil }
        let endpoint: MetricsEndpoint
        do {
            endpoint = try MetricsEndpoint(host: metricsAddress, port: metricsPort, metrics: live)
        } catch {
            throw ValidationError("--metrics-port \(metricsPort): cannot listen on \(metricsAddress): \(error)")
        }
        FileHandle.standardError.write(Data("metrics: http://\(endpoint.address)/metrics\n".utf8))
        return endpoint
    }
}
