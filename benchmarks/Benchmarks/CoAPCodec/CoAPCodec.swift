import Benchmark
import CoAP

/// A LwM2M Register request as devices send it: POST /rd with four query options and a
/// 200-byte link-format payload.
private func registerRequest() -> CoAPMessage {
    var request = CoAPMessage(type: .confirmable, code: .post, messageID: 0x1234, token: CoAPToken(value: 0xCAFE_F00D, length: 4))
    request.setPath("/rd")
    request.options.append(.contentFormat, uint: 40)
    request.options.append(.uriQuery, string: "ep=sim-000001")
    request.options.append(.uriQuery, string: "lt=86400")
    request.options.append(.uriQuery, string: "lwm2m=1.1")
    request.options.append(.uriQuery, string: "b=U")
    var links = "</>;rt=\"oma.lwm2m\";ct=110,</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</4/0>,</5/0>"
    while links.utf8.count < 200 { links += ",</3303/\(links.utf8.count)>" }
    request.payload = Array(links.utf8.prefix(200))[...]
    return request
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    Benchmark("Encode LwM2M Register request") { benchmark in
        let request = registerRequest()
        for _ in benchmark.scaledIterations {
            blackHole(request.encoded())
        }
    }

    Benchmark("Decode LwM2M Register request") { benchmark in
        let datagram = registerRequest().encoded()
        for _ in benchmark.scaledIterations {
            blackHole(CoAPMessage.decode(datagram))
        }
    }
}
