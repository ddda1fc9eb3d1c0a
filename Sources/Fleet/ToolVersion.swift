/// The version printed by `--version` and stored in result files.
public enum ToolVersion {
    public static let current = "0.2.0"
}
