/// The version printed by `--version` and stored in result files.
enum ToolVersion {
    static let current = "0.1.0"
}
