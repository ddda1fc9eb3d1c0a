import CoAP
import LwM2M
@testable import LwM2MClient
import XCTest

/// What one device keeps in memory: a fleet holds one `LwM2MClient` per device, so its size is
/// the budget the capacity benchmarks measure (issue 8), and what devices share must stay shared.
final class DeviceMemoryTests: XCTestCase {
    typealias F = ClientFixtures

    func testDeviceStaysWithinItsBudget() {
        // 408 bytes before the bootstrap endpoint, the Update in flight and the server account
        // moved out of line and the fields were packed; grow it only knowingly, and measure
        // with benchmarks/Sources/client-memory.
        XCTAssertLessThanOrEqual(MemoryLayout<LwM2MClient>.stride, 208)
        XCTAssertLessThanOrEqual(MemoryLayout<LwM2MClient.State>.stride, 64)
    }

    func testDevicesOfAProfileShareOneServerAccount() {
        let first = F.client(F.serverAccount())
        var devices = [first, LwM2MClient(configuration: first.configuration, profile: first.store.profile, index: 2, seed: 42)]
        var actions: [ClientAction] = []
        for index in devices.indices { devices[index].start(now: .seconds(1), actions: &actions) }
        XCTAssertEqual(devices.map { $0.account?.serverURI }, [F.serverURI, F.serverURI])
        let buffers = devices.map { $0.accountSource.withUnsafeBufferPointer { $0.baseAddress } }
        XCTAssertNotNil(buffers[0])
        XCTAssertEqual(buffers[0], buffers[1], "each device copied the account instead of sharing the profile's")
    }

    func testOutOfLineValuesAreCopiedOnWrite() {
        var original = OutOfLine(CoAPEndpoint(seed: 1))
        let copy = original
        var output = CoAPEndpointOutput()
        _ = original.value.send(CoAPMessage(type: .confirmable, code: .get), now: .seconds(1), output: &output)
        XCTAssertEqual(original.value.requestsInFlight, 1)
        XCTAssertEqual(copy.value.requestsInFlight, 0, "a mutation reached a copy")
    }
}
