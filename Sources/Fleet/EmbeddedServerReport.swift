import Foundation

/// One line `lwm2m-fleet serve` writes on standard output to the `run` that started it
/// (`serve --configuration-from-stdin`): one JSON object per line, so the parent reads typed
/// values instead of scraping text meant for people.
public enum EmbeddedServerReport: Hashable, Sendable, Codable {
    /// Both servers listen, at these addresses (`HOST:PORT`, `[HOST]:PORT` for IPv6), with the
    /// real ports when 0 was asked for; `controlAddress` is the loopback socket where the run
    /// sends `EmbeddedServerControlMessage`s; the `coaps://` addresses are there when DTLS is on
    /// (left out of the JSON otherwise, so readers that know none of them still parse the line).
    case ready(
        bootstrapAddress: String, serverAddress: String, controlAddress: String,
        dtlsBootstrapAddress: String? = nil, dtlsServerAddress: String? = nil)
    /// The servers stopped; what they counted.
    case summary(EmbeddedServerCounts)

    // The counts are coded as `counts`, not the unlabelled `_0`: `{"summary": {"counts": {...}}}`.
    enum SummaryCodingKeys: String, CodingKey { case _0 = "counts" }

    /// The report as one line of JSON, newline included.
    public var line: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding an enum of strings and integers cannot fail.
        return try! encoder.encode(self) + Data("\n".utf8)
    }

    /// Reads one line written by `line`.
    public init(line: some DataProtocol) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(line))
    }
}
