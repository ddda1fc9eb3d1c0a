import Fleet
import Foundation
import SharedTestData
import XCTest

/// `--metrics-port`: a Prometheus scrape during a run says what the result file says at the end.
final class LiveMetricsTests: XCTestCase {
    /// The exposition at `address` (HOST:PORT on 127.0.0.1), as samples by name and labels.
    static func scrape(_ address: String) throws -> [String: Double] {
        let port = try XCTUnwrap(address.split(separator: ":").last.flatMap { UInt16($0) }, address)
        let request = Array("GET /metrics HTTP/1.1\r\nHost: \(address)\r\n\r\n".utf8)
        guard let text = LoopbackHTTP.exchange(request, port: port) else { throw XCTSkip("cannot connect to \(address)") }
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK\r\n"), String(text.prefix(200)))
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    func testAScrapeDuringTheHoldMatchesTheResultFileForTheWholeFleetOfTwoWorkers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fleet = directory.appendingPathComponent("fleet.yaml")
        try """
            seed: 4
            server: embedded
            devices:
              - count: 240
                bootstrap: client-initiated
            stages:
              - { duration: 2s, rate: 120/s }
              - { duration: 5s, hold: true }
            thresholds:
              - violations == 0
            """.write(to: fleet, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("result.json").path
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["run", fleet.path, "--out", out, "--quiet", "--workers", "2", "--metrics-port", "0"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The first line on stderr says where the metrics are.
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n"), Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("metrics: http://") }, text)
        let address = String(line.dropFirst("metrics: http://".count).dropLast("/metrics".count))

        // Into the hold: every device registered, nothing changes until the end's De-registers.
        var scraped: [String: Double] = [:]
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
            scraped = try Self.scrape(address)
            if scraped[#"lwm2m_fleet_devices{state="registered"}"#] == 240 { break }
        }
        Thread.sleep(forTimeInterval: 1.5)
        scraped = try Self.scrape(address)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let metrics = try ResultFile.read(from: out).metrics

        XCTAssertEqual(scraped[#"lwm2m_fleet_devices{state="registered"}"#], 240)
        XCTAssertEqual(scraped["lwm2m_fleet_arrivals_total"], Double(metrics.arrivals))
        for operation in ["bootstrap", "register", "bootstrap-write", "bootstrap-finish"] {
            let result = try XCTUnwrap(metrics.operations[operation], operation)
            XCTAssertEqual(scraped[#"lwm2m_fleet_operations_total{operation="\#(operation)",outcome="succeeded"}"#], Double(result.succeeded), operation)
            XCTAssertEqual(scraped[#"lwm2m_fleet_operations_total{operation="\#(operation)",outcome="failed"}"#], Double(result.failed), operation)
        }
        let register = try XCTUnwrap(metrics.operations["register"])
        XCTAssertEqual(scraped[#"lwm2m_fleet_operation_latency_seconds_count{operation="register"}"#], Double(register.latency.count))
        // Each second's latencies are bucketed at 1 %: the sum is within that of the exact mean's.
        let sum = try XCTUnwrap(scraped[#"lwm2m_fleet_operation_latency_seconds_sum{operation="register"}"#])
        XCTAssertEqual(sum, register.latency.mean * Double(register.latency.count) / 1e9, accuracy: sum * 0.02)
        XCTAssertEqual(scraped[#"lwm2m_fleet_operation_latency_seconds_bucket{operation="register",le="+Inf"}"#], Double(register.latency.count))
        XCTAssertNotNil(scraped["lwm2m_fleet_loop_lag_p99_seconds"])
        XCTAssertEqual(scraped["lwm2m_fleet_violations_total"], 0)
    }
}
