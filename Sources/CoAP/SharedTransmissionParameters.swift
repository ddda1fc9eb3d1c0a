/// Transmission parameters held by reference, so that the endpoints of thousands of devices
/// share one copy instead of each carrying 19 bytes of the same values.
public final class SharedTransmissionParameters: Sendable {
    public let value: CoAPTransmissionParameters

    public init(_ value: CoAPTransmissionParameters) {
        self.value = value
    }
}
