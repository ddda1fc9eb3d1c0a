import CoAP
import LwM2M
@testable import LwM2MClient

/// Profiles and messages the client tests share.
enum ClientFixtures {
    static let bootstrapURI = "coap://127.0.0.1:5783"
    static let serverURI = "coap://127.0.0.1:5683"

    static func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }

    /// The Device object with a battery level (/3/0/9) that changes every second.
    static var deviceRecords: [LwM2MRecord] {
        [
            LwM2MRecord(path: path("/3/0/0"), value: .string("lwm2m-fleet")),
            LwM2MRecord(path: path("/3/0/1"), value: .string("sim")),
            LwM2MRecord(path: path("/3/0/6/0"), value: .integer(1)),
            LwM2MRecord(path: path("/3/0/6/1"), value: .integer(5)),
            LwM2MRecord(path: path("/3/0/9"), value: .integer(100)),
            LwM2MRecord(path: path("/3/0/16"), value: .string("U")),
        ]
    }

    /// A Bootstrap-Server account at Security instance `instance` (not 0 on purpose, in places).
    static func bootstrapAccount(instance: UInt16 = 5, holdOffSeconds: Int64 = 3) -> [LwM2MRecord] {
        [
            LwM2MRecord(path: path("/0/\(instance)/0"), value: .string(bootstrapURI)),
            LwM2MRecord(path: path("/0/\(instance)/1"), value: .boolean(true)),
            LwM2MRecord(path: path("/0/\(instance)/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/\(instance)/11"), value: .integer(holdOffSeconds)),
        ]
    }

    /// An LwM2M Server account: Security /0/security + Server /1/server with `shortServerID`.
    static func serverAccount(security: UInt16 = 0, server: UInt16 = 0, shortServerID: Int64 = 1, lifetime: Int64 = 300,
                              extra: [LwM2MRecord] = []) -> [LwM2MRecord] {
        [
            LwM2MRecord(path: path("/0/\(security)/0"), value: .string(serverURI)),
            LwM2MRecord(path: path("/0/\(security)/1"), value: .boolean(false)),
            LwM2MRecord(path: path("/0/\(security)/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/\(security)/10"), value: .integer(shortServerID)),
            LwM2MRecord(path: path("/1/\(server)/0"), value: .integer(shortServerID)),
            LwM2MRecord(path: path("/1/\(server)/1"), value: .integer(lifetime)),
            LwM2MRecord(path: path("/1/\(server)/6"), value: .boolean(false)),
            LwM2MRecord(path: path("/1/\(server)/7"), value: .string("U")),
        ] + extra
    }

    static func profile(_ records: [LwM2MRecord]) -> DeviceProfile {
        DeviceProfile(
            model: LwM2MModel.core, records: records + deviceRecords, supportedObjects: [0, 1, 3],
            generators: [ResourceKey(objectID: 3, resourceID: 9): .uniform(minimum: 0, maximum: 100, periodSeconds: 1)])
    }

    static func client(
        _ records: [LwM2MRecord], mode: ClientConfiguration.BootstrapMode = .none, version: LwM2MVersion = .v1_1,
        updateMargin: UInt32 = 10, confirmableNotifications: Bool = false, sessionSeconds: Double? = nil,
        sessionRepeats: Bool = false
    ) -> LwM2MClient {
        var transmission = CoAPTransmissionParameters()
        transmission.ackRandomFactor = 1
        let configuration = ClientConfiguration(
            lwm2mVersion: version, bootstrapMode: mode, updateMarginSeconds: updateMargin,
            confirmableNotifications: confirmableNotifications, transmission: transmission, sessionSeconds: sessionSeconds,
            sessionRepeats: sessionRepeats)
        return LwM2MClient(configuration: configuration, profile: profile(records), index: 1, seed: 42)
    }

    /// A Register answer as a server gives it.
    static func created(_ location: String = "5a3f") -> CoAPMessage {
        var answer = CoAPMessage(type: .acknowledgement, code: .created)
        answer.options.append(.locationPath, string: "rd")
        answer.options.append(.locationPath, string: location)
        return answer
    }

    static func request(_ code: CoAPCode, _ path: String, accept: LwM2MContentFormat? = nil, observe: UInt64? = nil,
                        query: [String] = [], payload: [UInt8] = [], format: LwM2MContentFormat? = nil) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: code)
        message.setPath(path)
        if let observe { message.options.append(.observe, uint: observe) }
        for item in query { message.options.append(.uriQuery, string: item) }
        if let accept { message.options.append(.accept, uint: UInt64(accept.rawValue)) }
        if let format { message.options.append(.contentFormat, uint: UInt64(format.rawValue)) }
        message.payload = payload[...]
        return message
    }

    /// A Bootstrap-Write of `records` at `target` in TLV.
    static func bootstrapWrite(_ target: String, _ records: [LwM2MRecord]) -> CoAPMessage {
        let payload = try! LwM2MPayloadCodec.encode(records, format: .tlv, requestPath: path(target)).get()
        return request(.put, target, payload: payload, format: .tlv)
    }
}
