import CoAP
import EventLoop
import Fleet
import Foundation
import LwM2M
import LwM2MClient

/// RSS and kernel slab memory of one worker process holding N registered devices, each with its
/// own connected UDP socket, against `lwm2m-fleet serve` in another process. Run it for several
/// N (fresh processes) and take the slope: bytes per registered device, ours and the kernel's.
@main
enum FleetMemory {
    static func kilobytes(_ key: String, in file: String) -> Int {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(key) } ?? ""
        return line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { Int($0) } ?? 0
    }

    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3, let count = Int(arguments[2]) else {
            print("usage: fleet-memory PATH-TO-lwm2m-fleet DEVICES")
            exit(2)
        }
        OpenFileLimit.raiseToHardLimit()
        let serve = try EmbeddedServerProcess(executable: URL(fileURLWithPath: arguments[1]), arguments: ["--lifetime", "86400"])
        defer { _ = serve.stop() }
        func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }
        let records: [LwM2MRecord] = [
            LwM2MRecord(path: path("/0/0/0"), value: .string(serve.serverURI)),
            LwM2MRecord(path: path("/0/0/1"), value: .boolean(false)),
            LwM2MRecord(path: path("/0/0/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/0/10"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/0"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/1"), value: .integer(86_400)),
            LwM2MRecord(path: path("/1/0/7"), value: .string("U")),
            LwM2MRecord(path: path("/3/0/0"), value: .string("lwm2m-fleet")),
            LwM2MRecord(path: path("/3/0/9"), value: .integer(100)),
        ]
        let profile = DeviceProfile(model: .core, records: records, supportedObjects: [0, 1, 3])
        let configuration = ClientConfiguration()
        let loop = try EventLoop()
        // Devices are built before the first reading: what is measured is registering them.
        let devices = (0..<count).map { LwM2MClient(configuration: configuration, profile: profile, index: UInt32($0), seed: 1) }
        let driver = DeviceDriver(loop: loop, devices: devices, localAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 0))
        var registered = 0
        driver.observer = { _, action, _ in
            if case .operationFinished(.register, .succeeded, _, _) = action { registered += 1 }
        }
        var started = 0
        let tick = DeviceDriver.firstOwnerTag
        let deadline = loop.now + 120_000_000_000
        driver.install { _, now in
            // 1,000 arrivals every 50 ms, so the server's socket buffer is never flooded.
            for device in started..<min(started + 1_000, count) { driver.start(device: device, now: Timestamp(nanoseconds: now)) }
            started = min(started + 1_000, count)
            if registered == count || now > deadline { return loop.stop() }
            _ = loop.schedule(at: now + 50_000_000, tag: tick)
        }
        let slabBefore = kilobytes("Slab:", in: "/proc/meminfo")
        let rssBefore = kilobytes("VmRSS:", in: "/proc/self/status")
        _ = loop.schedule(at: loop.now, tag: tick)
        loop.run()
        let rssAfter = kilobytes("VmRSS:", in: "/proc/self/status")
        let slabAfter = kilobytes("Slab:", in: "/proc/meminfo")
        print("devices=\(count) registered=\(registered) open_sockets=\(driver.openSockets) "
            + "rss_kib=\(rssAfter) rss_growth_kib=\(rssAfter - rssBefore) slab_growth_kib=\(slabAfter - slabBefore)")
    }
}
