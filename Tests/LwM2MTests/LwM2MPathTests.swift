import LwM2M
import XCTest

/// Paths as servers send them in Uri-Path options and users write them on the command line.
final class LwM2MPathTests: XCTestCase {
    func testEveryLevelParsesFromTextAndSegments() throws {
        let cases: [(String, LwM2MPath.Level, [UInt16])] = [
            ("/", .root, []), ("/3", .object, [3]), ("/3/0", .objectInstance, [3, 0]),
            ("/3/0/7", .resource, [3, 0, 7]), ("/3/0/7/1", .resourceInstance, [3, 0, 7, 1]),
        ]
        for (text, level, ids) in cases {
            let path = try LwM2MPath(parsing: text)
            XCTAssertEqual(path.level, level, text)
            XCTAssertEqual(path.components, ids, text)
            XCTAssertEqual(path.description, text)
            XCTAssertEqual(try LwM2MPath(segments: path.segments), path)
        }
        XCTAssertEqual(try LwM2MPath(parsing: "3/0/"), LwM2MPath(objectID: 3, instanceID: 0))
        XCTAssertEqual(try LwM2MPath(parsing: ""), .root)
    }

    func testIDsAreLimitedTo65534() throws {
        XCTAssertEqual(try LwM2MPath(parsing: "/65534").objectID, 65534)
        XCTAssertThrowsError(try LwM2MPath(parsing: "/65535")) { error in
            XCTAssertTrue("\(error)".contains("65535 is reserved"), "\(error)")
        }
        XCTAssertNil(LwM2MPath([1, 65535]))
    }

    func testMalformedPathsNameTheProblem() {
        let cases = ["/3//1": "segment ''", "/a": "segment 'a'", "/1/2/3/4/5": "at most 4", "/-1": "segment '-1'",
                     "/+1": "segment '+1'", "/99999": "out of range"]
        for (text, expected) in cases {
            XCTAssertThrowsError(try LwM2MPath(parsing: text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should mention \(expected)")
                XCTAssertTrue("\(error)".contains(text), "\(error) should name the path")
            }
        }
    }

    func testContainmentAndOrder() throws {
        let instance = try LwM2MPath(parsing: "/3/0")
        XCTAssertTrue(instance.contains(try LwM2MPath(parsing: "/3/0/7/1")))
        XCTAssertTrue(instance.contains(instance))
        XCTAssertFalse(instance.contains(try LwM2MPath(parsing: "/3/1/7")))
        XCTAssertFalse(instance.contains(try LwM2MPath(parsing: "/3")))
        XCTAssertTrue(LwM2MPath.root.contains(instance))
        let sorted = try ["/3/0/10", "/3/0/2", "/3", "/1/0"].map { try LwM2MPath(parsing: $0) }.sorted()
        XCTAssertEqual(sorted.map(\.description), ["/1/0", "/3", "/3/0/2", "/3/0/10"])
        XCTAssertEqual(try LwM2MPath(parsing: "/3/0/7").parent, instance)
        XCTAssertEqual(instance.appending(7), try LwM2MPath(parsing: "/3/0/7"))
    }

    func testRecordsGroupIntoObjectTreeAndBack() throws {
        let records = [
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/0"), value: .string("Open Mobile Alliance")),
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/6/0"), value: .integer(1)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/6/1"), value: .integer(5)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/13"), value: .time(1_367_491_215)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/1/0/0"), value: .unsignedInteger(UInt64.max)),
        ]
        let objects = LwM2MObject.objects(from: records)
        XCTAssertEqual(objects.map(\.id), [3, 1])
        XCTAssertEqual(objects[0].instances[0].resources.count, 3)
        XCTAssertEqual(objects[0].instances[0].resources[1].content, .multiple([(0, .integer(1)), (1, .integer(5))]))
        XCTAssertEqual(objects.flatMap(\.records), records)
    }
}
