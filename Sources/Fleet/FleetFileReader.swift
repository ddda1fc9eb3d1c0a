/// Reads a fleet file: a YAML document whose keys name files beside it, read once however many
/// groups name them (`key-file:`).
protocol FleetFileReader: YAMLDocumentReader {
    /// The directory relative file names start from: the fleet file's.
    var baseDirectory: String { get }
    /// Key files by resolved path; nil for one that failed to load (its problems already reported).
    var keyFiles: [String: PreSharedKeyTable?] { get set }
}
