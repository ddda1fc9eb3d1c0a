import Fleet
import XCTest

/// `--tolerance` texts: defaults, which setting wins, which kind of bound each metric takes, and
/// errors that say what would be valid.
final class ComparisonTolerancesTests: XCTestCase {
    private typealias Bounds = ComparisonTolerances.Bounds

    func testDefaultsAreDocumented() {
        let defaults = ComparisonTolerances()
        XCTAssertEqual(defaults.bounds(for: .rate, operation: "register"), Bounds(relative: 0.05))
        XCTAssertEqual(defaults.bounds(for: .p50, operation: "register"), Bounds(relative: 0.05))
        XCTAssertEqual(defaults.bounds(for: .p90, operation: "register"), Bounds(relative: 0.05))
        XCTAssertEqual(defaults.bounds(for: .p99, operation: "register"), Bounds(relative: 0.10))
        XCTAssertEqual(defaults.bounds(for: .p999, operation: "register"), Bounds(relative: 0.20))
        XCTAssertEqual(defaults.bounds(for: .failureRate, operation: "register"), Bounds(absolute: 0.001))
        XCTAssertEqual(defaults.bounds(for: .retransmissions, operation: "register"), Bounds(absolute: 0.01))
        XCTAssertEqual(defaults.bounds(for: .violations, operation: nil), Bounds(absolute: 0))
    }

    func testTheMostSpecificSettingWinsWhateverTheOrder() throws {
        let tolerances = try ComparisonTolerances(parsing: ["register.p99=40%", "p99=30%", "register.latency=50%", "latency=20%", "7%"])
        XCTAssertEqual(tolerances.bounds(for: .p99, operation: "register").relative, 0.40)
        XCTAssertEqual(tolerances.bounds(for: .p90, operation: "register").relative, 0.50)
        XCTAssertEqual(tolerances.bounds(for: .p99, operation: "update").relative, 0.30)
        XCTAssertEqual(tolerances.bounds(for: .p50, operation: "update").relative, 0.20)
        XCTAssertEqual(tolerances.bounds(for: .rate, operation: "update").relative, 0.07)
        XCTAssertEqual(tolerances.bounds(for: .failureRate, operation: "update"), Bounds(absolute: 0.001), "a bare percentage leaves failure rates alone")
        XCTAssertEqual(try ComparisonTolerances(parsing: ["p99=1%", "p99=2%"]).bounds(for: .p99, operation: nil).relative, 0.02, "the later text wins")
    }

    func testALatencyTakesARelativeAndAnAbsoluteBoundEachFromItsMostSpecificSetting() throws {
        let tolerances = try ComparisonTolerances(parsing: ["1ms", "p99=15%", "register.p99=500us"])
        XCTAssertEqual(tolerances.bounds(for: .p99, operation: "register"), Bounds(relative: 0.15, absolute: 500_000))
        XCTAssertEqual(tolerances.bounds(for: .p50, operation: "update"), Bounds(relative: 0.05, absolute: 1_000_000))
        XCTAssertEqual(tolerances.bounds(for: .rate, operation: "update"), Bounds(relative: 0.05), "a duration bounds latencies only")
        XCTAssertTrue(Bounds(relative: 0.1, absolute: 1_000_000).holds(2_000_000, 2_900_000), "within 1 ms though 45% more")
        XCTAssertTrue(Bounds(relative: 0.1, absolute: 1_000_000).holds(100_000_000, 109_000_000), "within 10% though 9 ms more")
        XCTAssertFalse(Bounds(relative: 0.1, absolute: 1_000_000).holds(2_000_000, 3_100_000))
        XCTAssertTrue(Bounds().holds(3, 3))
        XCTAssertFalse(Bounds().holds(3, 3.5))
    }

    func testFailureRateRetransmissionsAndViolationsTakeAbsoluteValues() throws {
        let tolerances = try ComparisonTolerances(parsing: ["failure-rate=0.5%", "update.failure-rate=0.02", "retransmissions=0.1", "violations=2"])
        XCTAssertEqual(tolerances.bounds(for: .failureRate, operation: "register"), Bounds(absolute: 0.005))
        XCTAssertEqual(tolerances.bounds(for: .failureRate, operation: "update"), Bounds(absolute: 0.02))
        XCTAssertEqual(tolerances.bounds(for: .retransmissions, operation: "update"), Bounds(absolute: 0.1))
        XCTAssertEqual(tolerances.bounds(for: .violations, operation: nil), Bounds(absolute: 2))
        XCTAssertEqual(tolerances.namedOperations, ["update"])
    }

    func testBadTextsSayWhatWouldBeValid() {
        func message(_ text: String) -> String {
            do {
                _ = try ComparisonTolerances(parsing: [text])
                return "accepted"
            } catch {
                return error.description
            }
        }
        XCTAssertTrue(message("p9=1%").contains("unknown metric 'p9'; did you mean 'p90' or 'p99'?"), message("p9=1%"))
        XCTAssertTrue(message("p99=fast").contains("'fast' is not a number"), message("p99=fast"))
        XCTAssertTrue(message("p99=3").contains("p99 takes a percentage (10%) or a duration"), message("p99=3"))
        XCTAssertTrue(message("rate=2ms").contains("rate takes a percentage"), message("rate=2ms"))
        XCTAssertTrue(message("failure-rate=1ms").contains("failure-rate takes a share"), message("failure-rate=1ms"))
        XCTAssertTrue(message("retransmissions=5%").contains("retransmissions takes retransmissions per attempt"), message("retransmissions=5%"))
        XCTAssertTrue(message("register.violations=0").contains("whole run"), message("register.violations=0"))
        XCTAssertTrue(message("3").contains("a value without a metric is a percentage"), message("3"))
        XCTAssertTrue(message("-5%").contains("is not a number"), message("-5%"))
        XCTAssertTrue(message("p9=1%").hasPrefix("--tolerance p9=1%: "), message("p9=1%"))
    }
}
