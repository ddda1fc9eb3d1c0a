/// A well-formed option this endpoint must refuse (RFC 7252 5.4.1 and 5.4.3).
public struct CoAPOptionProblem: Hashable, Sendable, CustomStringConvertible {
    public var number: CoAPOptionNumber
    public var reason: String

    public var description: String { "\(number) (\(number.rawValue)): \(reason)" }
}

extension CoAPMessage {
    /// The first critical option that is unknown or whose value has a length outside its
    /// definition; nil when every option is acceptable.
    ///
    /// RFC 7252 5.4.3 treats a known option with a bad length like an unrecognized one, so an
    /// elective one is ignored and a critical one rejects the message (4.02 for a CON request).
    public var firstUnacceptableOption: CoAPOptionProblem? {
        var previous: UInt16?
        for option in options {
            if let definition = option.number.definition {
                if !definition.lengths.contains(option.value.count), option.number.isCritical {
                    return CoAPOptionProblem(
                        number: option.number,
                        reason: "value of \(option.value.count) bytes, \(definition.lengths) allowed")
                }
                if !definition.isRepeatable, previous == option.number.rawValue, option.number.isCritical {
                    return CoAPOptionProblem(number: option.number, reason: "repeated, but is not repeatable")
                }
            } else if option.number.isCritical {
                return CoAPOptionProblem(number: option.number, reason: "unrecognized critical option")
            }
            previous = option.number.rawValue
        }
        return nil
    }
}
