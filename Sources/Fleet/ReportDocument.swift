import Foundation

/// A document `lwm2m-fleet report` renders: a run's (or a shard's, or a merged) result, or a search
/// result, told apart by their keys.
public enum ReportDocument: Sendable {
    case run(ResultFile)
    case search(SearchResult)

    /// Reads the document at `path`: a search result has `document: "lwm2m-fleet search"`, a run's
    /// result has `schemaVersion` and `metrics`; anything else is refused, saying what would do.
    public static func read(from path: String) throws -> ReportDocument {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ResultFileError(path: path, message: "cannot read it: \(error.localizedDescription)")
        }
        let expected = "a run's result has schemaVersion and metrics (run --out, merge --out), "
            + "a search result has document: \"\(SearchResult.documentName)\" (search --out)"
        let keys: TopLevelKeys
        do {
            keys = try JSONDecoder().decode(TopLevelKeys.self, from: data)
        } catch {
            throw ResultFileError(path: path, message: "not an lwm2m-fleet result file or search result: it is not a JSON object; \(expected)")
        }
        switch keys.document {
        case SearchResult.documentName:
            return .search(try SearchResult.read(from: path))
        case nil where keys.hasRunKeys:
            return .run(try ResultFile.read(from: path))
        case let document?:
            throw ResultFileError(path: path, message: "not an lwm2m-fleet result file or search result: a document \"\(document)\"; \(expected)")
        case nil:
            throw ResultFileError(path: path, message: "not an lwm2m-fleet result file or search result: \(expected)")
        }
    }

    /// Only the keys that tell the kinds apart: the metrics of a large result are decoded once, by the reader of its kind.
    private struct TopLevelKeys: Decodable {
        var document: String?
        var hasRunKeys: Bool

        private enum CodingKeys: String, CodingKey {
            case document, schemaVersion, metrics
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            document = try? container.decodeIfPresent(String.self, forKey: .document)
            hasRunKeys = container.contains(.schemaVersion) && container.contains(.metrics)
        }
    }
}
