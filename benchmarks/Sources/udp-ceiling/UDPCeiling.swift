import ArgumentParser
import Foundation

/// The raw UDP round-trip ceiling on this machine, and our CoAP path measured against it.
@main
struct UDPCeiling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-ceiling",
        abstract: "Round trips per second over N connected libuv UDP sockets: raw, then through the CoAP endpoint.",
        subcommands: [Compare.self, Responder.self, Measure.self],
        defaultSubcommand: Compare.self
    )
}

/// Options shared by the commands that drive client sockets.
struct LoadOptions: ParsableArguments {
    @Option(name: .long, help: "Seconds to measure, after one second of warm-up.")
    var seconds: Double = 10

    mutating func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    }
}

/// Starts a responder process, then measures raw and CoAP round trips for each socket count.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a responder in a second process and measure raw vs CoAP round trips (the default).")

    @Option(name: .long, parsing: .upToNextOption, help: "Socket counts to measure.")
    var sockets: [Int] = [1_000, 10_000]

    @OptionGroup var load: LoadOptions

    func run() throws {
        let responder = Process()
        responder.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        responder.arguments = ["responder"]
        let pipe = Pipe()
        responder.standardOutput = pipe
        try responder.run()
        defer {
            responder.terminate()
            responder.waitUntilExit()
        }
        guard let line = readLine(from: pipe.fileHandleForReading),
              let port = UInt16(line.replacingOccurrences(of: "port ", with: ""))
        else { throw ValidationError("the responder did not report its port") }

        print("| sockets | raw round trips/s | CoAP round trips/s | CoAP / raw | fleet registrations/s | fleet / raw "
            + "| raw CPU µs per round trip | fleet CPU µs per registration (user + system) | raw / fleet CPU | raw lost | CoAP retransmissions |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for count in sockets {
            let raw = try LoadGenerator(mode: .raw, sockets: count, port: port).measure(seconds: load.seconds)
            let coap = try LoadGenerator(mode: .coap, sockets: count, port: port).measure(seconds: load.seconds)
            let fleetLoad = try FleetLoad(sockets: count, port: port)
            let fleet = try fleetLoad.measure(seconds: load.seconds)
            let cpu = fleetLoad.cpuPerRegistration
            func decimals(_ value: Double) -> String { String(format: "%.2f", value) }
            print("| \(count) | \(Int(raw.roundTripsPerSecond)) | \(Int(coap.roundTripsPerSecond)) | "
                + "\(decimals(coap.roundTripsPerSecond / raw.roundTripsPerSecond)) | \(Int(fleet)) | "
                + "\(decimals(fleet / raw.roundTripsPerSecond)) | \(decimals(raw.cpuPerRoundTrip.totalMicroseconds)) | "
                + "\(decimals(cpu.totalMicroseconds)) (\(decimals(cpu.userMicroseconds)) + \(decimals(cpu.systemMicroseconds))) | "
                + "\(decimals(raw.cpuPerRoundTrip.totalMicroseconds / cpu.totalMicroseconds)) | \(raw.lost) | \(coap.lost) |")
        }
    }

    private func readLine(from handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while let byte = try? handle.read(upToCount: 1), let first = byte.first, first != UInt8(ascii: "\n") {
            bytes.append(first)
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}

/// Runs only the responder (for measuring from another shell or machine).
struct Responder: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Echo every datagram; answer a CoAP CON request with a piggybacked 2.01 at once.")

    @Option(name: .long, help: "UDP port on 127.0.0.1 (0: any free port, printed as 'port N').")
    var port: UInt16 = 0

    func run() throws {
        try EchoResponder(port: port).run()
    }
}

/// Measures one mode against a running responder.
struct Measure: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure one mode against a running responder.")

    @Option(name: .long, help: "The responder's UDP port on 127.0.0.1.")
    var port: UInt16

    @Option(name: .long, help: "raw or coap.")
    var mode: LoadGenerator.Mode = .raw

    @Flag(name: .long, help: "Measure the whole device path (fleet mode) instead of --mode, e.g. to profile it alone.")
    var fleet = false

    @Option(name: .long, help: "Connected sockets.")
    var sockets: Int = 10_000

    @OptionGroup var load: LoadOptions

    func run() throws {
        if fleet {
            let fleetLoad = try FleetLoad(sockets: sockets, port: port)
            let rate = try fleetLoad.measure(seconds: load.seconds)
            return print("fleet sockets=\(sockets) registrations_per_second=\(Int(rate))"
                + " user_us_per_registration=\(String(format: "%.2f", fleetLoad.cpuPerRegistration.userMicroseconds))"
                + " system_us_per_registration=\(String(format: "%.2f", fleetLoad.cpuPerRegistration.systemMicroseconds))")
        }
        let result = try LoadGenerator(mode: mode, sockets: sockets, port: port).measure(seconds: load.seconds)
        print("\(mode) sockets=\(sockets) round_trips_per_second=\(Int(result.roundTripsPerSecond)) lost=\(result.lost)"
            + " user_us_per_round_trip=\(String(format: "%.2f", result.cpuPerRoundTrip.userMicroseconds))"
            + " system_us_per_round_trip=\(String(format: "%.2f", result.cpuPerRoundTrip.systemMicroseconds))")
    }
}
