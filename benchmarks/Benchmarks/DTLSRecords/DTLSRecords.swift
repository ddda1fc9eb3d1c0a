import Benchmark
import DTLS

/// One DTLS record each way and one parked session brought back, on mbedTLS 2.28 (issue 15):
/// what a DTLS device adds to each datagram, and what parking an idle session costs when it is
/// used again. Each measures time and allocations per operation; setup stays outside.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    Benchmark(
        "Seal one 100-byte record",
        closure: { benchmark, sessions in
            guard sessions.isEstablished else { return benchmark.error("the sessions did not establish") }
            var failures = 0
            for _ in benchmark.scaledIterations {
                if !sessions.client.send(sessions.payload, now: sessions.now, output: &sessions.output) { failures += 1 }
                blackHole(sessions.output.datagrams)
                sessions.output.removeAll()
            }
            if failures > 0 { benchmark.error("\(failures) records were not sealed") }
        },
        setup: { EstablishedSessions() }
    )

    Benchmark(
        "Open one 100-byte record",
        closure: { benchmark, sessions in
            guard sessions.isEstablished else { return benchmark.error("the sessions did not establish") }
            let records = sessions.sealedByClient(count: benchmark.scaledIterations.count)
            benchmark.startMeasurement()
            var opened = 0
            for record in records {
                sessions.server.receive(record, now: sessions.now, output: &sessions.output)
                opened += sessions.output.applicationData.count
                sessions.output.removeAll()
            }
            benchmark.stopMeasurement()
            if opened != records.count { benchmark.error("\(records.count - opened) records were not opened") }
        },
        setup: { EstablishedSessions() }
    )

    // Loading a parked session is transparent: the next send (client) or receive (server) does
    // it. So each of these parks, then seals or opens one record; the seal or open alone is above.

    Benchmark(
        "Client park, then seal one record (loads it)",
        closure: { benchmark, sessions in
            guard sessions.isEstablished else { return benchmark.error("the sessions did not establish") }
            var failures = 0
            for _ in benchmark.scaledIterations {
                if !sessions.client.park() { failures += 1 }
                if !sessions.client.send(sessions.payload, now: sessions.now, output: &sessions.output) { failures += 1 }
                sessions.output.removeAll()
            }
            if failures > 0 { benchmark.error("\(failures) parks or sends failed") }
        },
        setup: { EstablishedSessions() }
    )

    Benchmark(
        "Server park, then open one record (loads it)",
        closure: { benchmark, sessions in
            guard sessions.isEstablished else { return benchmark.error("the sessions did not establish") }
            let records = sessions.sealedByClient(count: benchmark.scaledIterations.count)
            benchmark.startMeasurement()
            var failures = 0
            for record in records {
                if !sessions.server.park() { failures += 1 }
                sessions.server.receive(record, now: sessions.now, output: &sessions.output)
                if sessions.output.applicationData.count != 1 { failures += 1 }
                sessions.output.removeAll()
            }
            benchmark.stopMeasurement()
            if failures > 0 { benchmark.error("\(failures) parks or opens failed") }
        },
        setup: { EstablishedSessions() }
    )

    // Both sides of one handshake together, session creation included: against mbedTLS's own
    // handshake measured in isolation (DESIGN.md), what the sessions add around it.

    Benchmark(
        "Full handshake, client and server (cookie, CCM_8)",
        configuration: .init(scalingFactor: .one),
        closure: { benchmark, pair in
            var failures = 0
            for _ in benchmark.scaledIterations where pair.handshake() == nil { failures += 1 }
            if failures > 0 { benchmark.error("\(failures) handshakes did not establish") }
        },
        setup: { HandshakePair(resuming: false) }
    )

    Benchmark(
        "Resumed handshake, client and server (ticket, cookie)",
        configuration: .init(scalingFactor: .one),
        closure: { benchmark, pair in
            var failures = 0
            for _ in benchmark.scaledIterations where pair.handshake() == nil { failures += 1 }
            if failures > 0 { benchmark.error("\(failures) handshakes did not establish") }
        },
        setup: { HandshakePair(resuming: true) }
    )
}
