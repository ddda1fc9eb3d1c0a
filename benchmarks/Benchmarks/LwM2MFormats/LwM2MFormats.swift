import Benchmark
import LwM2M

/// A full Device object instance (/3/0) as LwM2M 1.1 TS Table 7.4.4-2 shows it, plus the
/// resources a 1.1 client adds: every value type the object uses.
private func deviceInstance() -> [LwM2MRecord] {
    let device = LwM2MPath(objectID: 3, instanceID: 0)
    func at(_ resource: UInt16, _ instance: UInt16? = nil) -> LwM2MPath {
        let path = device.appending(resource)!
        return instance.map { path.appending($0)! } ?? path
    }
    return [
        LwM2MRecord(path: at(0), value: .string("Open Mobile Alliance")),
        LwM2MRecord(path: at(1), value: .string("Lightweight M2M Client")),
        LwM2MRecord(path: at(2), value: .string("345000123")),
        LwM2MRecord(path: at(3), value: .string("1.0")),
        LwM2MRecord(path: at(6, 0), value: .integer(1)),
        LwM2MRecord(path: at(6, 1), value: .integer(5)),
        LwM2MRecord(path: at(7, 0), value: .integer(3800)),
        LwM2MRecord(path: at(7, 1), value: .integer(5000)),
        LwM2MRecord(path: at(8, 0), value: .integer(125)),
        LwM2MRecord(path: at(8, 1), value: .integer(900)),
        LwM2MRecord(path: at(9), value: .integer(100)),
        LwM2MRecord(path: at(10), value: .integer(15)),
        LwM2MRecord(path: at(11, 0), value: .integer(0)),
        LwM2MRecord(path: at(13), value: .time(1_367_491_215)),
        LwM2MRecord(path: at(14), value: .string("+02:00")),
        LwM2MRecord(path: at(15), value: .string("Europe/Paris")),
        LwM2MRecord(path: at(16), value: .string("U")),
        LwM2MRecord(path: at(17), value: .string("sensor")),
        LwM2MRecord(path: at(18), value: .string("1.0")),
        LwM2MRecord(path: at(19), value: .string("1.0.3")),
        LwM2MRecord(path: at(20), value: .integer(0)),
        LwM2MRecord(path: at(21), value: .integer(8192)),
    ]
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )
    let records = deviceInstance()
    let path = LwM2MPath(objectID: 3, instanceID: 0)
    let model = LwM2MModel.core
    for (name, format) in [("TLV", LwM2MContentFormat.tlv), ("SenML JSON", .senmlJSON), ("SenML CBOR", .senmlCBOR)] {
        Benchmark("Encode Device /3/0 \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(LwM2MPayloadCodec.encode(records, format: format, requestPath: path))
            }
        }
        Benchmark("Decode Device /3/0 \(name)") { benchmark in
            let payload = try LwM2MPayloadCodec.encode(records, format: format, requestPath: path).get()
            for _ in benchmark.scaledIterations {
                blackHole(LwM2MPayloadCodec.decode(payload, format: format, requestPath: path, model: model))
            }
        }
    }
}
