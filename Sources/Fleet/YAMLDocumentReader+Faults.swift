import Yams

// The keys of a fleet file that make its network and its server misbehave: `faults:` of a device
// group or of the embedded servers, and `server.embedded.restart`.
extension YAMLDocumentReader {
    /// The keys of a `faults:` mapping.
    static var faultKeys: [String] { ["loss", "loss-up", "loss-down", "duplicate", "reorder", "delay", "jitter", "rebind-every"] }

    /// `{ loss: 20%, loss-up: 5%, loss-down: 10%, duplicate: 1%, reorder: 2%, delay: 50ms, jitter: 20ms,
    /// rebind-every: 30s }`, each key optional; `loss-up` and `loss-down` override `loss` for their
    /// way. `ofDevices`: a device group's (the embedded servers' address never changes, so they
    /// have no `rebind-every`).
    mutating func faults(_ node: Node, at path: String, ofDevices: Bool) -> LinkImpairment? {
        guard let fields = fields(
            node, at: path, what: "a mapping of impairments such as { loss: 20%, duplicate: 1%, delay: 50ms }", allowed: Self.faultKeys)
        else { return nil }
        let before = problems.count
        let loss = fields["loss"].flatMap { share($0, at: fields.path("loss")) }
        var impairment = LinkImpairment()
        impairment.lossUp = fields["loss-up"].flatMap { share($0, at: fields.path("loss-up")) } ?? loss ?? 0
        impairment.lossDown = fields["loss-down"].flatMap { share($0, at: fields.path("loss-down")) } ?? loss ?? 0
        impairment.duplicate = fields["duplicate"].flatMap { share($0, at: fields.path("duplicate")) } ?? 0
        impairment.reorder = fields["reorder"].flatMap { share($0, at: fields.path("reorder")) } ?? 0
        let delay = fields["delay"].flatMap { duration($0, at: fields.path("delay"), allowZero: true) } ?? 0
        impairment.delayNanoseconds = UInt64(delay * 1e9)
        if let jitterNode = fields["jitter"], let jitter = duration(jitterNode, at: fields.path("jitter"), allowZero: true) {
            if jitter > delay {
                report(jitterNode, fields.path("jitter"), "'\(jitterNode.scalar?.string ?? "")' is more than the delay (\(fields["delay"]?.scalar?.string ?? "0s")): "
                    + "a delay varies by at most its own length either way; raise delay or lower jitter")
            }
            impairment.jitterNanoseconds = UInt64(jitter * 1e9)
        }
        if let rebindNode = fields["rebind-every"] {
            if ofDevices {
                impairment.rebindEveryNanoseconds = duration(rebindNode, at: fields.path("rebind-every")).map { UInt64($0 * 1e9) } ?? 0
            } else {
                report(rebindNode, fields.path("rebind-every"),
                       "the servers' address never changes; NAT rebinding is the devices': give rebind-every under a device group's faults")
            }
        }
        return problems.count == before ? impairment : nil
    }

    /// A share such as `20%` or `0.5%`, from 0% to 100%, as a fraction.
    mutating func share(_ node: Node, at path: String) -> Double? {
        let what = "a percentage such as 20% or 0.5%, from 0% to 100%"
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let (number, unit) = FleetSpec.splitQuantity(text), unit == "%", number <= 100 else {
            report(node, path, "'\(text)' is not valid; use \(what)")
            return nil
        }
        return number / 100
    }

    /// `{ at: 60s, down: 10s }`: when the embedded LwM2M Server restarts and how long it stays down.
    mutating func restart(_ node: Node, at path: String) -> ServerRestart? {
        guard let fields = fields(
            node, at: path, what: "a mapping such as { at: 60s, down: 10s }", allowed: ["at", "down"],
            required: [
                ("at", "add at: with when the server restarts, counted from the run's start, such as at: 60s"),
                ("down", "add down: with how long the server answers nothing, such as down: 10s (0s: back at once, empty)"),
            ])
        else { return nil }
        let at = fields["at"].flatMap { duration($0, at: fields.path("at")) }
        let down = fields["down"].flatMap { duration($0, at: fields.path("down"), allowZero: true) }
        guard let at, let down else { return nil }
        return ServerRestart(atSeconds: at, downSeconds: down)
    }

    /// A restart falls within the stages: after them the devices are leaving, and there would
    /// be no storm to measure.
    mutating func checkRestart(_ spec: FleetSpec) {
        guard case .embedded(let server) = spec.server, let restart = server.restart else { return }
        let stages = spec.stagesDurationSeconds
        guard restart.atSeconds >= stages else { return }
        let end = stages == stages.rounded() && stages < 1e15 ? "\(Int64(stages))s" : "\(stages)s"
        report(at: "server.embedded.restart.at", orAt: "server.embedded.restart",
               "the restart comes after the stages end (\(end) in); restart the server while devices are online: "
                   + "make at shorter or add a hold stage, such as - { duration: 60s, hold: true }")
    }
}
