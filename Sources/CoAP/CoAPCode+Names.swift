/// The names RFC 7252 (12.1), RFC 7959 and RFC 8132 give the codes, for people reading a
/// datagram: `POST`, `2.05 Content`.
extension CoAPCode {
    /// The method's name for a request, `class.detail Name` for a response, `Empty`; nil for a
    /// code no registry names.
    public var name: String? {
        if isEmpty { return "Empty" }
        if isRequest { return Self.methodNames[detail] }
        return Self.responseNames[rawValue].map { "\(description) \($0)" }
    }

    private static let methodNames: [UInt8: String] = [
        1: "GET", 2: "POST", 3: "PUT", 4: "DELETE", 5: "FETCH", 6: "PATCH", 7: "iPATCH",
    ]

    private static let responseNames: [UInt8: String] = [
        CoAPCode.created.rawValue: "Created", CoAPCode.deleted.rawValue: "Deleted", CoAPCode.valid.rawValue: "Valid",
        CoAPCode.changed.rawValue: "Changed", CoAPCode.content.rawValue: "Content", CoAPCode.continue.rawValue: "Continue",
        CoAPCode.badRequest.rawValue: "Bad Request", CoAPCode.unauthorized.rawValue: "Unauthorized",
        CoAPCode.badOption.rawValue: "Bad Option", CoAPCode.forbidden.rawValue: "Forbidden", CoAPCode.notFound.rawValue: "Not Found",
        CoAPCode.methodNotAllowed.rawValue: "Method Not Allowed", CoAPCode.notAcceptable.rawValue: "Not Acceptable",
        CoAPCode.requestEntityIncomplete.rawValue: "Request Entity Incomplete", CoAPCode(codeClass: 4, detail: 9).rawValue: "Conflict",
        CoAPCode.preconditionFailed.rawValue: "Precondition Failed", CoAPCode.requestEntityTooLarge.rawValue: "Request Entity Too Large",
        CoAPCode.unsupportedContentFormat.rawValue: "Unsupported Content-Format", CoAPCode(codeClass: 4, detail: 22).rawValue: "Unprocessable Entity",
        CoAPCode(codeClass: 4, detail: 29).rawValue: "Too Many Requests",
        CoAPCode.internalServerError.rawValue: "Internal Server Error", CoAPCode.notImplemented.rawValue: "Not Implemented",
        CoAPCode.badGateway.rawValue: "Bad Gateway", CoAPCode.serviceUnavailable.rawValue: "Service Unavailable",
        CoAPCode.gatewayTimeout.rawValue: "Gateway Timeout", CoAPCode.proxyingNotSupported.rawValue: "Proxying Not Supported",
    ]
}
