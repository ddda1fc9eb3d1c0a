import Foundation
import Yams

// `search:`, the settings of `lwm2m-fleet search` (`SearchSpec`), and the checks that tie them to
// the rest of the file.
extension FleetFileReader {
    static var searchKeys: [String] {
        ["load", "from", "to", "growth", "precision", "step-duration", "rate", "hold", "confirm", "plateau", "generator"]
    }

    mutating func search(_ node: Node) -> SearchSpec? {
        guard let fields = fields(
            node, at: "search", what: "a mapping such as { load: arrival-rate, from: 100/s, to: 20000/s }", allowed: Self.searchKeys)
        else { return nil }
        var search = SearchSpec()
        search.load = fields["load"].flatMap { choice($0, at: "search.load", SearchSpec.Load.allCases.map { ($0.rawValue, $0) }) }
        let load = search.load ?? .arrivalRate
        search.from = fields["from"].flatMap { searchLoad($0, at: "search.from", load: load) }
        search.to = fields["to"].flatMap { searchLoad($0, at: "search.to", load: load) }
        if let from = search.from, let to = search.to, to <= from, let node = fields["to"] {
            report(node, "search.to", "must be above from; the search steps up from from to to")
        }
        search.growth = fields["growth"].flatMap { growth($0, at: "search.growth") }
        search.precision = fields["precision"].flatMap { fraction($0, at: "search.precision", in: 0.001...0.5, example: "10%") }
        if let node = fields["step-duration"] {
            if load == .arrivalRate {
                search.stepSeconds = duration(node, at: "search.step-duration")
            } else {
                report(node, "search.step-duration", "belongs to load: arrival-rate; a devices-held step lasts as long as its devices take to arrive at rate, then hold")
            }
        }
        if let node = fields["rate"] {
            if load == .devicesHeld {
                search.fillRate = searchLoad(node, at: "search.rate", load: .arrivalRate, what: "a rate above 0 such as 500/s")
            } else {
                report(node, "search.rate", "belongs to load: devices-held (the rate that fills the registry); an arrival-rate search steps the rate itself")
            }
        }
        search.holdSeconds = fields["hold"].flatMap { duration($0, at: "search.hold", allowZero: true) }
        search.confirm = fields["confirm"].flatMap { boolean($0, at: "search.confirm") }
        search.plateauGrowth = fields["plateau"].flatMap { fraction($0, at: "search.plateau", in: 0.001...0.5, example: "5%") }
        if let node = fields["generator"], let generator = self.fields(
            node, at: "search.generator", what: "a mapping such as { loop-lag: 5ms, rate-error: 1% }", allowed: ["loop-lag", "rate-error"]) {
            search.loopLagLimitNanoseconds = generator["loop-lag"].flatMap { duration($0, at: "search.generator.loop-lag") }.map { $0 * 1e9 }
            search.arrivalRateErrorLimit = generator["rate-error"].flatMap {
                fraction($0, at: "search.generator.rate-error", in: 0.0001...1, example: "1%")
            }
        }
        return search
    }

    /// A rate such as `500/s` (arrival-rate) or a whole number of devices (devices-held).
    mutating func searchLoad(_ node: Node, at path: String, load: SearchSpec.Load, what: String? = nil) -> Double? {
        let what = what ?? (load == .arrivalRate ? "a rate above 0 such as 500/s (load: arrival-rate)" : "a whole number of devices above 0 such as 2000 (load: devices-held)")
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let value = SearchPlan.load(parsing: text, as: load) else {
            report(node, path, "'\(text)' is not valid; use \(what)")
            return nil
        }
        return value
    }

    /// `2x`, `1.5x` or a plain factor, above 1 and at most 10.
    mutating func growth(_ node: Node, at path: String) -> Double? {
        let what = "a factor above 1 and at most 10, such as 2x or 1.5x"
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let (number, unit) = FleetSpec.splitQuantity(text), unit.isEmpty || unit == "x", number > 1, number <= 10 else {
            report(node, path, "'\(text)' is not valid; use \(what)")
            return nil
        }
        return number
    }

    /// A percentage (`10%`) or a fraction (`0.1`) in `range`.
    mutating func fraction(_ node: Node, at path: String, in range: ClosedRange<Double>, example: String) -> Double? {
        let what = "a percentage from \(SearchPlan.number(range.lowerBound * 100))% to \(SearchPlan.number(range.upperBound * 100))%, such as \(example)"
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let (number, unit) = FleetSpec.splitQuantity(text), unit.isEmpty || unit == "%",
              range.contains(unit == "%" ? number / 100 : number)
        else {
            report(node, path, "'\(text)' is not valid; use \(what)")
            return nil
        }
        return unit == "%" ? number / 100 : number
    }

    /// A search scales the device groups: a group whose keys come from a file has keys for its own
    /// devices only. The defaults derived from the stages must also make a valid search.
    mutating func checkSearch(_ spec: FleetSpec) {
        for (index, problem) in spec.searchProblemsOfGroups {
            report(at: "devices[\(index)].security.key-file", orAt: "search", problem)
        }
        guard spec.search?.from == nil || spec.search?.to == nil else { return }
        let plan = spec.searchPlan
        if plan.to <= plan.from {
            report(at: spec.search?.to == nil ? "search.from" : "search.to", orAt: "search",
                   "gives a search from \(plan.text(ofLoad: plan.from)) to \(plan.text(ofLoad: plan.to)); give from below to")
        }
    }
}

extension FleetSpec {
    /// Why a group cannot take part in a search, by group index: a search scales each group's
    /// device count per step, and a group whose keys come from a file has keys for its own devices only.
    public var searchProblemsOfGroups: [(group: Int, problem: String)] {
        devices.enumerated().compactMap { index, group in
            guard case .file? = group.security?.keySource else { return nil }
            return (index, "a search scales each group's device count per step, and a key-file has keys for this group's "
                + "\(group.count) devices only; use key: or key-secret: in a fleet file for search")
        }
    }
}
