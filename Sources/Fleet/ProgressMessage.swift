/// One line a worker writes to its parent on stdout, as JSON: its progress report of a second,
/// or a note for the user (the interrupt, the duration limit), which the parent shows once
/// however many workers send it.
public enum ProgressMessage: Sendable, Codable, Equatable {
    case report(ProgressReport)
    case note(String)
}
