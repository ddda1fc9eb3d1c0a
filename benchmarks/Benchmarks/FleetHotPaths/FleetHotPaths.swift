import Benchmark

/// The per-registration work of a fleet at full speed, without sockets: the client's Register and
/// Update round trips, the server's Register and De-register, and one CoAP endpoint round trip.
/// Each measures time and allocations per operation; setup stays outside the measured part.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    // MARK: Client (LwM2MClient)

    Benchmark("Client Register round trip") { benchmark in
        var device = RegisteredDevice()
        // One round trip before measuring, so what the device keeps between registrations exists.
        guard device.registerRoundTrip() else { return benchmark.error("the warm-up Register did not end registered") }
        benchmark.startMeasurement()
        var failures = 0
        for _ in benchmark.scaledIterations where !device.registerRoundTrip() {
            failures += 1
        }
        benchmark.stopMeasurement()
        if failures > 0 { benchmark.error("\(failures) Register round trips did not end registered") }
    }

    Benchmark("Client Update round trip") { benchmark in
        var device = RegisteredDevice()
        guard device.updateRoundTrip() else { return benchmark.error("the warm-up Update did not refresh the registration") }
        benchmark.startMeasurement()
        var failures = 0
        for _ in benchmark.scaledIterations where !device.updateRoundTrip() {
            failures += 1
        }
        benchmark.stopMeasurement()
        if failures > 0 { benchmark.error("\(failures) Update round trips did not refresh the registration") }
    }

    // MARK: Server (LwM2MRegistrationServer)

    Benchmark(
        "Server Register with 1000 held",
        closure: { benchmark, load in
            var failures = 0
            for _ in benchmark.scaledIterations where !load.registerNextHeldAgain() {
                failures += 1
            }
            if failures > 0 { benchmark.error("\(failures) Registers were not answered 2.01") }
            if load.registrationCount != 1_000 { benchmark.error("the server holds \(load.registrationCount), not 1000") }
        },
        setup: { RegistrationServerLoad(held: 1_000) }
    )

    Benchmark(
        "Server De-register with 1000 held",
        closure: { benchmark, load in
            let count = benchmark.scaledIterations.count
            guard load.prepareDeregisters(count: count) else { return benchmark.error("the registrations to remove were not all made") }
            benchmark.startMeasurement()
            var failures = 0
            for index in benchmark.scaledIterations where !load.deregister(index) {
                failures += 1
            }
            benchmark.stopMeasurement()
            if failures > 0 { benchmark.error("\(failures) De-registers were not answered 2.02") }
            if load.registrationCount != 1_000 { benchmark.error("the server holds \(load.registrationCount), not 1000") }
        },
        setup: { RegistrationServerLoad(held: 1_000) }
    )

    // MARK: CoAP endpoint

    Benchmark("Endpoint CON request and piggybacked ACK") { benchmark in
        var exchange = EndpointRoundTrip()
        guard exchange.roundTrip() else { return benchmark.error("the warm-up request was not answered") }
        benchmark.startMeasurement()
        var failures = 0
        for _ in benchmark.scaledIterations where !exchange.roundTrip() {
            failures += 1
        }
        benchmark.stopMeasurement()
        if failures > 0 { benchmark.error("\(failures) requests were not matched to their ACK") }
    }
}
