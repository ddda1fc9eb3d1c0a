/// Counts by name (devices by state, operations completed), kept as an array sorted by name and
/// encoded as the JSON object a `[String: Count]` is.
///
/// A time series point holds two of these for every second of a run, and a dictionary of a few
/// names takes about twice the memory of the array.
struct NamedCounts<Count: FixedWidthInteger & Codable & Sendable>: Sendable, Equatable {
    private struct Entry: Sendable, Equatable {
        var name: String
        var count: Count
    }

    /// Sorted by name, each name once, so equal counts are equal arrays.
    private var entries: [Entry]

    init() {
        entries = []
    }

    init(_ counts: [String: Count]) {
        entries = counts.map { Entry(name: $0.key, count: $0.value) }
        entries.sort { $0.name < $1.name }
    }

    var dictionary: [String: Count] {
        Dictionary(uniqueKeysWithValues: entries.lazy.map { ($0.name, $0.count) })
    }

    /// The count of `name`; 0 when it has none.
    func count(of name: String) -> Count {
        entries.first { $0.name == name }?.count ?? 0
    }

    mutating func add(_ count: Count, to name: String) {
        if let index = entries.firstIndex(where: { $0.name == name }) {
            entries[index].count += count
        } else {
            entries.insert(Entry(name: name, count: count), at: entries.firstIndex { $0.name > name } ?? entries.endIndex)
        }
    }

    mutating func add(_ other: NamedCounts) {
        for entry in other.entries { add(entry.count, to: entry.name) }
    }
}

extension NamedCounts: Codable {
    init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: Count].self))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(dictionary)
    }
}
