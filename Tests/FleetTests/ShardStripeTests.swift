import Fleet
import Foundation
import XCTest

/// Stripes as users write them, as result files store them, and how they nest.
final class ShardStripeTests: XCTestCase {
    func testParsesIOverNAndRefusesWhatIsNotAStripe() throws {
        XCTAssertEqual(try ShardStripe(parsing: "1/4"), ShardStripe(index: 1, count: 4))
        XCTAssertEqual(try ShardStripe(parsing: "0/1"), .whole)
        XCTAssertEqual(ShardStripe(index: 3, count: 8).description, "3/8")
        for text in ["4/4", "-1/4", "1/0", "1/", "/4", "1/2/3", "x", "", "1 /4"] {
            XCTAssertThrowsError(try ShardStripe(parsing: text), text) { error in
                XCTAssertEqual(error as? ShardStripeError, ShardStripeError(text: text))
                XCTAssertTrue("\(error)".contains("'\(text)' is not a stripe"), "\(error)")
            }
        }
    }

    func testAStripeContainsTheStripesOfFinerSplitsThatLeaveItsIndex() {
        let shard = ShardStripe(index: 1, count: 2)
        XCTAssertTrue(shard.contains(ShardStripe(index: 1, count: 4)))
        XCTAssertTrue(shard.contains(ShardStripe(index: 3, count: 4)))
        XCTAssertTrue(shard.contains(shard))
        XCTAssertFalse(shard.contains(ShardStripe(index: 2, count: 4)), "2 % 2 is another shard")
        XCTAssertFalse(shard.contains(ShardStripe(index: 1, count: 3)), "a split into 3 does not refine one into 2")
        XCTAssertFalse(shard.contains(.whole))
        XCTAssertTrue(ShardStripe.whole.contains(ShardStripe(index: 2, count: 3)))
    }

    func testWorkersOfAShardRunTheStripesThatMakeItUp() {
        // Worker w of W inside shard I/N runs (I + N*w)/(N*W).
        let shard = ShardStripe(index: 1, count: 3)
        let workers = (0..<4).map { ShardStripe(index: shard.index + shard.count * $0, count: shard.count * 4) }
        XCTAssertEqual(shard.stripes(inSplitInto: 12), workers)
        XCTAssertEqual(ShardStripe.whole.stripes(inSplitInto: 2), [ShardStripe(index: 0, count: 2), ShardStripe(index: 1, count: 2)])
        XCTAssertEqual(shard.stripes(inSplitInto: 3), [shard])
    }

    func testAResultFileWithAnImpossibleStripeDoesNotDecode() throws {
        XCTAssertEqual(try JSONDecoder().decode(ShardStripe.self, from: Data(#"{"index":2,"count":4}"#.utf8)), ShardStripe(index: 2, count: 4))
        for json in [#"{"index":4,"count":4}"#, #"{"index":-1,"count":4}"#, #"{"index":0,"count":0}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(ShardStripe.self, from: Data(json.utf8)), json)
        }
    }
}
