import LwM2M
import SharedTestData
import XCTest

/// `../shared/vectors/registration-requests.json`.
private struct RegistrationRequestFile: Decodable {
    var vectors: [RegistrationRequestVector]
}

private struct RegistrationRequestVector: Decodable {
    var id: String
    var request: Request?
    var response: Response?
    var steps: [Step]?
    var error: Bool?
    var templates: [Template]?
    var serverRejections: [ServerRejection]?

    struct Request: Decodable {
        var method: String?
        var uriPath: [String]?
        var uriQuery: [String]?
        var payload: String?
    }

    struct Response: Decodable {
        var code: String
    }

    struct Step: Decodable {
        var request: Request
        var response: Response
        var error: Bool?
    }

    struct Template: Decodable {
        var operation: String
        var uriQueryParams: [String]?
    }

    struct ServerRejection: Decodable {
        var `case`: String
        var response: String
    }

    /// The request/response exchanges, single or in steps, each with whether it must be refused.
    var exchanges: [(request: Request, response: Response?, isError: Bool)] {
        if let steps { return steps.map { ($0.request, $0.response, $0.error ?? false) } }
        return request.map { [($0, response, error ?? false)] } ?? []
    }
}

final class RegistrationParametersTests: XCTestCase {
    override func setUpWithError() throws {
        try SharedVectors.requireVectors()
    }

    private func loadVectors() throws -> [RegistrationRequestVector] {
        try SharedVectors.load("registration-requests.json", as: RegistrationRequestFile.self).vectors
    }

    /// Vectors that only describe what a server does (content-format check, routing, De-register);
    /// they belong to the embedded server's tests.
    private static let serverLogicVectors: Set<String> = [
        "wakaama-register-wrong-content-format", "wakaama-uri-classification", "rfc9176-remove",
    ]

    /// Every Register, Update and Bootstrap-Request with a query is read, refused when the vector
    /// says so, and written back to the same Uri-Query options in the same order.
    func testRequestQueriesParseAndRebuildInOrder() throws {
        let vectors = try loadVectors()
        XCTAssertEqual(vectors.count, 12, "registration-requests.json changed: review the checks")
        var checkedVectors: Set<String> = []
        var checkedRequests = 0
        for vector in vectors {
            var registeredVersion = LwM2MVersion.v1_0
            for exchange in vector.exchanges {
                guard exchange.request.method == "POST", let path = exchange.request.uriPath, let query = exchange.request.uriQuery else {
                    continue
                }
                let context = "\(vector.id) \(path) \(query)"
                if let code = exchange.response?.code {
                    XCTAssertEqual(code.hasPrefix("4."), exchange.isError, context)
                }
                checkedRequests += 1
                checkedVectors.insert(vector.id)
                switch path.count == 2 ? path[0] + "/" : path.first ?? "" {
                case "rd":
                    let parameters = Result { () throws(LwM2MQueryError) in try RegistrationParameters(queryItems: query) }
                    // A Register is refused for its query or for its payload (Leshan: no payload, 4.00).
                    let version = (try? parameters.get())?.effectiveLwM2MVersion ?? .v1_0
                    let payload = RegistrationPayload.parse(exchange.request.payload ?? "", lwm2mVersion: version)
                    if exchange.isError {
                        XCTAssertTrue(parameters.rejection != nil || payload.rejection != nil, context)
                        continue
                    }
                    let read = try parameters.get()
                    XCTAssertEqual(read.queryItems, query, context)
                    registeredVersion = read.effectiveLwM2MVersion
                    if vector.id == "rfc9176-register" {
                        // A CoRE RD payload: link-format, but <http://...> and </sensors/temp> are no LwM2M objects.
                        XCTAssertNoThrow(try LinkFormat.parse(try XCTUnwrap(exchange.request.payload)).get())
                        XCTAssertTrue(payload.rejection?.reason.contains("not an absolute path") ?? false, "\(payload)")
                    } else if exchange.request.payload != nil {
                        XCTAssertNoThrow(try payload.get(), context)
                    }
                case "rd/":
                    let read = try RegistrationUpdateParameters(queryItems: query, lwm2mVersion: registeredVersion)
                    XCTAssertFalse(exchange.isError, context)
                    XCTAssertEqual(read.queryItems, query, context)
                case "bs":
                    let read = try BootstrapRequestParameters(queryItems: query)
                    XCTAssertFalse(exchange.isError, context)
                    XCTAssertEqual(read.queryItems, query, context)
                default:
                    XCTFail("\(context): no parameter reader for this path")
                }
            }
        }
        XCTAssertEqual(checkedRequests, 12)
        XCTAssertEqual(
            checkedVectors,
            ["register-block1-capture", "leshan-register-no-payload", "leshan-binding-checks-1.1", "leshan-binding-checks-1.0",
             "wakaama-bootstrap-flow", "rfc9176-register", "rfc9176-update", "rfc9176-update-base"])
        let others = Set(vectors.map(\.id)).subtracting(checkedVectors)
        XCTAssertEqual(others, Self.serverLogicVectors.union(["leshan-operation-mapping"]), "vectors no test checks")
    }

    func testBadBindingsAreRefusedForTheirVersion() throws {
        let vectors = try loadVectors()
        let expectations = [
            ("leshan-binding-checks-1.1", "Q is not a binding since LwM2M 1.1"), ("leshan-binding-checks-1.0", "not one of the LwM2M 1.0 bindings"),
        ]
        for (id, reason) in expectations {
            let refused = try XCTUnwrap(vectors.first { $0.id == id }?.exchanges.last, id)
            XCTAssertTrue(refused.isError)
            XCTAssertThrowsError(try RegistrationParameters(queryItems: try XCTUnwrap(refused.request.uriQuery))) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(error)")
            }
        }
    }

    /// Leshan's request mapping: the parameters each operation carries, and the query refusals that
    /// are the parameter readers' (the rest, CON type and URI shape, are the server's).
    func testOperationMappingParametersAndRefusals() throws {
        let mapping = try XCTUnwrap(try loadVectors().first { $0.id == "leshan-operation-mapping" })
        var names: [String: [String]] = [:]
        for template in mapping.templates ?? [] {
            names[template.operation] = (template.uriQueryParams ?? [])
                .filter { !$0.hasPrefix("<") }
                .map { $0 == "Q (no value)" ? "Q" : $0 }
        }
        func parameterNames(_ items: [String]) -> [String] { items.map { LwM2MQueryParameter(queryItem: $0).name } }
        let bootstrap = BootstrapRequestParameters(endpointName: "dev", preferredContentFormat: .senmlCBOR)
        XCTAssertEqual(parameterNames(bootstrap.queryItems), names["Bootstrap-Request"])
        let register = RegistrationParameters(
            endpointName: "dev", lifetimeSeconds: 300, lwm2mVersion: .v1_1, binding: .udp, smsNumber: "+4512345678", queueMode: true)
        XCTAssertEqual(Set(parameterNames(register.queryItems)), Set(try XCTUnwrap(names["Register"])))
        let update = RegistrationUpdateParameters(lifetimeSeconds: 300, binding: .udp, smsNumber: "+4512345678")
        XCTAssertEqual(Set(parameterNames(update.queryItems)), Set(try XCTUnwrap(names["Update"])))
        XCTAssertEqual(names.count, 4)

        let rejections = mapping.serverRejections ?? []
        XCTAssertEqual(rejections.count, 6)
        for rejection in rejections {
            XCTAssertTrue(rejection.response.hasPrefix("4.00"), rejection.case)
            switch rejection.case {
            case "lt present without value":
                XCTAssertThrowsError(try RegistrationParameters(queryItems: ["ep=dev", "lt"]))
                XCTAssertThrowsError(try RegistrationUpdateParameters(queryItems: ["lt"], lwm2mVersion: .v1_1))
            case "Q present with a value":
                XCTAssertThrowsError(try RegistrationParameters(queryItems: ["ep=dev", "lwm2m=1.1", "Q=1"]))
            case "payload is not valid link-format":
                XCTAssertNotNil(RegistrationPayload.parse("</1/0>;", lwm2mVersion: .v1_1).rejection)
            default:
                // CON type, Uri-Path shape of Register/Update and De-register: routing in the server.
                XCTAssertTrue(["CON", "Uri-Path", "DELETE"].contains { rejection.case.contains($0) }, rejection.case)
            }
        }
    }

    func testBuiltParametersUseTheCanonicalOrder() {
        let register = RegistrationParameters(
            endpointName: "urn:dev:1", lifetimeSeconds: 300, lwm2mVersion: .v1_1, binding: LwM2MBinding([.udp, .tcp]), smsNumber: "+4512345678",
            queueMode: true, additionalParameters: [LwM2MQueryParameter(name: "apn", value: "iot")])
        XCTAssertEqual(register.queryItems, ["ep=urn:dev:1", "lt=300", "lwm2m=1.1", "b=UT", "sms=+4512345678", "Q", "apn=iot"])
        XCTAssertEqual(RegistrationParameters(endpointName: "a").queryItems, ["ep=a"])
        XCTAssertEqual(RegistrationUpdateParameters().queryItems, [])
        XCTAssertEqual(RegistrationUpdateParameters(lifetimeSeconds: 60, queueMode: true).queryItems, ["lt=60", "Q"])
        XCTAssertEqual(BootstrapRequestParameters(endpointName: "a", preferredContentFormat: .senmlCBOR).queryItems, ["ep=a", "pct=112"])
    }

    func testEqualityIgnoresTheOrderParametersCameIn() throws {
        let first = try RegistrationParameters(queryItems: ["b=U", "lwm2m=1.1", "lt=300", "ep=85ba9bdac0be", "x=1", "flag"])
        let second = try RegistrationParameters(queryItems: ["ep=85ba9bdac0be", "flag", "lt=300", "x=1", "lwm2m=1.1", "b=U"])
        XCTAssertEqual(first, second)
        XCTAssertEqual(first.hashValue, second.hashValue)
        XCTAssertEqual(second.queryItems, ["ep=85ba9bdac0be", "flag", "lt=300", "x=1", "lwm2m=1.1", "b=U"])
        XCTAssertEqual(first.additionalParameters, [LwM2MQueryParameter(name: "x", value: "1"), LwM2MQueryParameter(name: "flag", value: nil)])
        XCTAssertNotEqual(first, try RegistrationParameters(queryItems: ["b=U", "lwm2m=1.1", "lt=300", "ep=85ba9bdac0be", "x=1", "flag="]))
        var changed = first
        changed.smsNumber = "+1"
        XCTAssertEqual(changed.queryItems, ["b=U", "lwm2m=1.1", "lt=300", "ep=85ba9bdac0be", "x=1", "flag", "sms=+1"])
    }

    func testRegisterQueryRefusalsNameTheProblem() {
        let cases: [([String], String)] = [
            (["lt=300"], "needs the endpoint client name 'ep'"), (["ep"], "ep needs a value"), (["ep="], "ep needs a value"),
            (["ep=a", "lt=abc"], "lifetime in whole seconds"), (["ep=a", "lt=0"], "1-4294967295"), (["ep=a", "lt=-5"], "'-5'"),
            (["ep=a", "lt=4294967296"], "whole seconds"), (["ep=a", "lwm2m=1.1.1"], "MAJOR.MINOR"), (["ep=a", "lwm2m=1"], "MAJOR.MINOR"),
            (["ep=a", "lt=1", "lt=2"], "more than once"), (["ep=a", "ep=b"], "more than once"), (["ep=a", "=x"], "no name"),
            (["ep=a", "b=UU"], "each at most once"), (["ep=a", "b=X"], "binding letters"), (["ep=a", "b="], "b needs a value"),
            (["ep=a", "lwm2m=1.1", "b=UQ"], "Q is not a binding"), (["ep=a", "b=UT"], "LwM2M 1.0 bindings"), (["ep=a", "b=N"], "LwM2M 1.0 bindings"),
            (["ep=a", "b=QU"], "LwM2M 1.0 bindings"), (["ep=a", "lwm2m=1.1", "b=UM"], "since LwM2M 1.2"), (["ep=a", "Q"], "since LwM2M 1.1"),
            (["ep=a", "lwm2m=1.1", "Q=true"], "Q takes no value"), (["ep=a", "sms="], "sms needs a value"),
        ]
        for (query, expected) in cases {
            XCTAssertThrowsError(try RegistrationParameters(queryItems: query), "\(query)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(query): \(error) should mention \(expected)")
            }
        }
    }

    func testBindingTextIsReadLetterByLetterAndRefusesRepeatsAndOtherLetters() {
        XCTAssertEqual(LwM2MBinding("U"), LwM2MBinding([.udp]))
        XCTAssertEqual(LwM2MBinding("UQS")?.modes, [.udp, .queue, .sms])
        for refused in ["", "UU", "u", "X", "U ", "\u{00DA}", "U\u{0301}", "Ü"] {
            XCTAssertNil(LwM2MBinding(refused), refused)
        }
    }

    func testBindingsValidPerVersionAreAccepted() throws {
        let valid = [("1.0", ["U", "UQ", "S", "SQ", "US", "UQS"]), ("1.1", ["U", "T", "S", "N", "UT", "US", "UTSN"]), ("1.2", ["UM", "H", "TUS"])]
        for (version, bindings) in valid {
            for binding in bindings {
                let read = try RegistrationParameters(queryItems: ["ep=a", "lwm2m=\(version)", "b=\(binding)"])
                XCTAssertEqual(read.binding?.description, binding)
            }
        }
        let queued = try RegistrationParameters(queryItems: ["ep=a", "lwm2m=1.1", "Q"])
        XCTAssertTrue(queued.queueMode)
        XCTAssertEqual(queued.effectiveLwM2MVersion, .v1_1)
        XCTAssertEqual(try RegistrationParameters(queryItems: ["ep=a"]).effectiveLwM2MVersion, .v1_0)
        XCTAssertEqual(try RegistrationParameters(queryItems: ["ep=a=b", "base=coap://h/x?y=1"]).endpointName, "a=b")
    }

    func testUpdateAcceptsOnlyWhatAnUpdateMayChange() throws {
        XCTAssertEqual(try RegistrationUpdateParameters(queryItems: ["lt=60", "b=U", "sms=+1", "Q"], lwm2mVersion: .v1_1).lifetimeSeconds, 60)
        let cases: [([String], LwM2MVersion, String)] = [
            (["ep=a"], .v1_1, "sent only with Register"), (["lwm2m=1.1"], .v1_1, "sent only with Register"), (["b=UQ"], .v1_1, "Q is not a binding"),
            (["Q"], .v1_0, "since LwM2M 1.1"), (["lt=x"], .v1_1, "whole seconds"), (["b=U", "b=S"], .v1_1, "more than once"),
        ]
        for (query, version, expected) in cases {
            XCTAssertThrowsError(try RegistrationUpdateParameters(queryItems: query, lwm2mVersion: version), "\(query)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(query): \(error) should mention \(expected)")
            }
        }
    }

    func testBootstrapRequestNeedsEndpointAndNumericPreferredFormat() throws {
        let read = try BootstrapRequestParameters(queryItems: ["pct=112", "ep=apa", "x"])
        XCTAssertEqual(read.endpointName, "apa")
        XCTAssertEqual(read.preferredContentFormat, .senmlCBOR)
        XCTAssertEqual(read.queryItems, ["pct=112", "ep=apa", "x"])
        let cases: [([String], String)] = [
            (["pct=112"], "needs the endpoint client name"), (["ep=a", "pct=cbor"], "content-format number"),
            (["ep=a", "pct=70000"], "0-65535"), (["ep=a", "pct"], "pct needs a value"), (["ep=a", "ep=a"], "more than once"),
        ]
        for (query, expected) in cases {
            XCTAssertThrowsError(try BootstrapRequestParameters(queryItems: query), "\(query)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(query): \(error) should mention \(expected)")
            }
        }
    }

    func testVersionsAreMajorDotMinorOnly() {
        XCTAssertEqual(LwM2MVersion("1.1"), .v1_1)
        XCTAssertEqual(LwM2MVersion("10.20")?.description, "10.20")
        for text in ["1", "1.1.1", "v1.1", "1.01", "01.1", "1.", ".1", "", "1.-1", "+1.1", "1 .1"] {
            XCTAssertNil(LwM2MVersion(text), text)
        }
        XCTAssertLessThan(LwM2MVersion.v1_0, .v1_1)
        XCTAssertLessThan(LwM2MVersion(major: 1, minor: 9), LwM2MVersion(major: 1, minor: 10))
    }
}
