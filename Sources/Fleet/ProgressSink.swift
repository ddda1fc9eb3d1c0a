/// Where a `FleetRunner` sends its progress: shown on stderr (`ProgressPrinter`, a run in one
/// process) or sent to the parent process (`WorkerProgressWriter`, a worker).
public protocol ProgressSink {
    /// The report of the interval that just ended, once a second.
    func report(_ report: ProgressReport)
    /// A message for the user on a line of its own.
    func note(_ text: String)
    /// The run is over: no more reports.
    func finish()
}
