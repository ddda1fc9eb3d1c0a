import CoAP
import XCTest

/// Thousands of endpoints live in one process, so their inline size is a budget, not a detail.
final class CoAPEndpointFootprintTests: XCTestCase {
    func testIdleEndpointStaysWithinItsInlineBudget() {
        // 72 bytes when written: parameters (19), generator, IDs, and four empty arrays.
        XCTAssertLessThanOrEqual(MemoryLayout<CoAPEndpoint>.size, 80)
        XCTAssertLessThanOrEqual(MemoryLayout<CoAPTransmissionParameters>.size, 24)
    }
}
