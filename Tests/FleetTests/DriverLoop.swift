import EventLoop
import Fleet

/// Runs a `DeviceDriver`'s event loop until a condition holds or a time limit passes, looking at
/// the condition every 20 ms: the tests' way to wait for devices without hanging.
final class DriverLoop {
    private let loop: EventLoop
    private var condition: () -> Bool = { true }
    private static let limitTag = DeviceDriver.firstOwnerTag
    private static let pollTag = DeviceDriver.firstOwnerTag + 1

    /// Installs `driver` on its loop, with this runner owning the loop's other timers.
    init(driver: DeviceDriver) {
        loop = driver.loop
        driver.install { [unowned self] tag, now in
            if tag == Self.limitTag || condition() {
                loop.stop()
            } else {
                _ = loop.schedule(at: now + 20_000_000, tag: Self.pollTag)
            }
        }
    }

    /// Runs until `done` holds, for at most `seconds`; returns whether it holds.
    @discardableResult
    func run(seconds: Double, until done: @escaping () -> Bool) -> Bool {
        condition = done
        let limit = loop.schedule(at: loop.now + UInt64(seconds * 1e9), tag: Self.limitTag)
        let poll = loop.schedule(at: loop.now + 20_000_000, tag: Self.pollTag)
        if !done() { loop.run() }
        loop.cancel(limit)
        loop.cancel(poll)
        return done()
    }
}
