import Benchmark
import CoAP

/// A `CoAPEndpoint` towards one peer, on a manual clock: one CON request sent, and its
/// piggybacked 2.01 ACK received and matched by message ID and token, as in the CoAP mode of
/// `udp-ceiling` but without sockets.
struct EndpointRoundTrip {
    private var endpoint = CoAPEndpoint(seed: 1)
    /// Reused for every call, as drivers keep one output per loop.
    private var output = CoAPEndpointOutput()
    /// The request of `udp-ceiling`'s CoAP mode: CON POST /rd?ep=sim-000001.
    private let request: CoAPMessage
    private var acknowledgement: PiggybackedResponse
    private let now = Timestamp.seconds(1_000)

    init() {
        var request = CoAPMessage(type: .confirmable, code: .post)
        request.setPath("/rd")
        request.options.append(.uriQuery, string: "ep=sim-000001")
        self.request = request
        acknowledgement = PiggybackedResponse(code: .created, tokenLength: endpoint.parameters.tokenLength)
    }

    /// Sends the request and delivers its ACK; true when the endpoint reported the response.
    mutating func roundTrip() -> Bool {
        output.removeAll()
        let id = endpoint.send(request, now: now, output: &output)
        guard let sent = output.datagrams.first, acknowledgement.answer(sent) else { return false }
        blackHole(sent)
        blackHole(endpoint.nextDeadline)
        output.removeAll()
        endpoint.receive(acknowledgement.datagram, now: now, output: &output)
        guard case .response(id, let response)? = output.events.first else { return false }
        blackHole(response)
        return endpoint.nextDeadline == nil
    }
}
