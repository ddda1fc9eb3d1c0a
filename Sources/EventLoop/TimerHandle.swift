/// Names one scheduled deadline in a `TimerQueue`, and goes stale once it fires or is cancelled.
///
/// The generation makes cancelling a stale handle a no-op, even after its slot is reused.
public struct TimerHandle: Hashable, Sendable {
    let slot: UInt32
    let generation: UInt32

    /// A handle of no entry (its slot is past any queue): cancelling it does nothing.
    public static let unscheduled = TimerHandle(slot: .max, generation: 0)
}
