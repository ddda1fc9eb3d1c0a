@testable import Fleet
import XCTest

/// How a run ends: the De-registers it sends at once.
final class EndOfRunTests: XCTestCase {
    func testTheWholeFleetKeepsAboutAThousandDeRegistersInFlightAtTheEnd() {
        XCTAssertEqual(FleetRunner.endingDeregistersInFlight(shards: 1), 1_000)
        // 12 workers sending 1,000 each overflowed the embedded server's receive buffer: about
        // 5,000 retransmissions and a De-register p99 of 2.8 s (benchmarks/RESULTS.md).
        XCTAssertEqual(FleetRunner.endingDeregistersInFlight(shards: 12), 83)
        XCTAssertLessThanOrEqual(12 * FleetRunner.endingDeregistersInFlight(shards: 12), 1_000)
        // Never so few that a shard of a very wide run crawls.
        XCTAssertEqual(FleetRunner.endingDeregistersInFlight(shards: 500), 16)
    }
}
