import CoAP
import DTLS
import EventLoop
import Fleet
import Foundation
import LwM2M
import LwM2MClient

/// RSS and kernel slab memory of one worker process holding N registered devices, each with its
/// own connected UDP socket, against `lwm2m-fleet serve` in another process. Run it for several
/// N (fresh processes) and take the slope: bytes per registered device, ours and the kernel's.
///
/// With `dtls`, each device registers over `coaps://` with Security Mode PSK, its key derived
/// from the server's secret and its endpoint name (`PreSharedKey.derived`), and the server's RSS
/// growth is printed too: what its DTLS sessions, parked once idle, cost per peer.
@main
enum FleetMemory {
    static func kilobytes(_ key: String, in file: String) -> Int {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(key) } ?? ""
        return line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { Int($0) } ?? 0
    }

    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3, let count = Int(arguments[2]), arguments.count == 3 || arguments[3] == "dtls" else {
            print("usage: fleet-memory PATH-TO-lwm2m-fleet DEVICES [dtls]")
            exit(2)
        }
        let dtls = arguments.count == 4
        let secret = Array("fleet-memory secret".utf8)
        OpenFileLimit.raiseToHardLimit()
        var serverConfiguration = EmbeddedServerConfiguration()
        if dtls { serverConfiguration.dtls = EmbeddedDTLSConfiguration(accountSecret: secret) }
        let serve = try EmbeddedServerProcess(executable: URL(fileURLWithPath: arguments[1]), configuration: serverConfiguration)
        defer { _ = serve.stop() }
        let serverURI = dtls ? serve.dtlsServerURI! : serve.serverURI
        func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }
        let records: [LwM2MRecord] = [
            LwM2MRecord(path: path("/0/0/0"), value: .string(serverURI)),
            LwM2MRecord(path: path("/0/0/1"), value: .boolean(false)),
            // Security Mode PSK (0) over coaps://, NoSec (3) over coap:// (TS Core E.1).
            LwM2MRecord(path: path("/0/0/2"), value: .integer(dtls ? 0 : 3)),
            LwM2MRecord(path: path("/0/0/10"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/0"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/1"), value: .integer(86_400)),
            LwM2MRecord(path: path("/1/0/7"), value: .string("U")),
            LwM2MRecord(path: path("/3/0/0"), value: .string("lwm2m-fleet")),
            LwM2MRecord(path: path("/3/0/9"), value: .integer(100)),
        ]
        let profile = DeviceProfile(model: .core, records: records, supportedObjects: [0, 1, 3], speaksDTLS: dtls)
        let configuration = ClientConfiguration()
        let loop = try EventLoop()
        // Devices are built before the first reading: what is measured is registering them.
        let devices = (0..<count).map { LwM2MClient(configuration: configuration, profile: profile, index: UInt32($0), seed: 1) }
        let driver = DeviceDriver(loop: loop, devices: devices, localAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 0))
        if dtls {
            // The key the server derives for the identity the device presents: its endpoint name.
            let identity = FleetSpec.EndpointPattern(prefix: configuration.endpointPrefix, indexWidth: configuration.indexWidth)
            driver.security = [(0..<count, DeviceSecurity(identity: identity, keySource: .derived(secret: secret)))]
        }
        var registered = 0
        driver.observer = { _, action, _ in
            if case .operationFinished(.register, .succeeded, _, _) = action { registered += 1 }
        }
        var started = 0
        // 1,000 arrivals every 50 ms, so the server's socket buffer is never flooded; 250 with
        // DTLS, whose handshakes cost each side about 40 us of CPU.
        let batch = dtls ? 250 : 1_000
        let tick = DeviceDriver.firstOwnerTag
        let deadline = loop.now + 120_000_000_000
        driver.install { _, now in
            for device in started..<min(started + batch, count) { driver.start(device: device, now: Timestamp(nanoseconds: now)) }
            started = min(started + batch, count)
            if registered == count || now > deadline { return loop.stop() }
            _ = loop.schedule(at: now + 50_000_000, tag: tick)
        }
        let serverStatus = "/proc/\(serve.processIdentifier)/status"
        let slabBefore = kilobytes("Slab:", in: "/proc/meminfo")
        let rssBefore = kilobytes("VmRSS:", in: "/proc/self/status")
        let serverRSSBefore = kilobytes("VmRSS:", in: serverStatus)
        _ = loop.schedule(at: loop.now, tag: tick)
        loop.run()
        let rssAfter = kilobytes("VmRSS:", in: "/proc/self/status")
        let serverRSSAfter = kilobytes("VmRSS:", in: serverStatus)
        let slabAfter = kilobytes("Slab:", in: "/proc/meminfo")
        print("mode=\(dtls ? "dtls" : "nosec") devices=\(count) registered=\(registered) open_sockets=\(driver.openSockets) "
            + "rss_kib=\(rssAfter) rss_growth_kib=\(rssAfter - rssBefore) slab_growth_kib=\(slabAfter - slabBefore) "
            + "server_rss_kib=\(serverRSSAfter) server_rss_growth_kib=\(serverRSSAfter - serverRSSBefore)")
    }
}
