/// The object links of a Register or Update payload (LwM2M 1.1 TS Core 6.2.1), such as
/// `</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3/0>`: the objects a client supports with their
/// versions, the instances it has, where they live and which content formats it speaks.
public struct RegistrationPayload: Hashable, Sendable {
    /// One supported object.
    public struct SupportedObject: Hashable, Sendable {
        public var id: UInt16
        public var version: LwM2MVersion
        /// Available instances in the order listed; empty lists the object alone (`</6>`).
        public var instanceIDs: [UInt16]

        public init(id: UInt16, version: LwM2MVersion = .v1_0, instanceIDs: [UInt16] = []) {
            self.id = id
            self.version = version
            self.instanceIDs = instanceIDs
        }
    }

    /// The enabler version the client registers with; it decides each object's default version.
    public var lwm2mVersion: LwM2MVersion
    /// The path objects hang below, ending in "/": "/" or an alternate path such as "/lwm2m/".
    public var rootPath: String
    /// Whether the root link carries `rt="oma.lwm2m"`; it always does for an alternate root path,
    /// which that attribute is how a server finds.
    public var declaresRootPath: Bool
    /// Content formats advertised as `ct` on the root link (LwM2M 1.1), in the order written.
    public var contentFormats: [LwM2MContentFormat]
    /// Supported objects in the order listed. The Security (0) and OSCORE (21) objects are never
    /// listed (LwM2M 1.1 TS Core 6.2.1); leave them out.
    public var objects: [SupportedObject]

    public init(
        lwm2mVersion: LwM2MVersion, objects: [SupportedObject], rootPath: String = "/", declaresRootPath: Bool = true,
        contentFormats: [LwM2MContentFormat] = []
    ) {
        self.lwm2mVersion = lwm2mVersion
        self.objects = objects
        self.rootPath = rootPath.hasSuffix("/") ? rootPath : rootPath + "/"
        self.declaresRootPath = declaresRootPath
        self.contentFormats = contentFormats
    }

    /// Object id to version, as a server records what a client supports.
    public var supportedObjects: [UInt16: LwM2MVersion] {
        Dictionary(objects.map { ($0.id, $0.version) }, uniquingKeysWith: { first, _ in first })
    }

    /// The instances the client has, object by object.
    public var availableInstances: [LwM2MPath] {
        objects.flatMap { object in object.instanceIDs.map { LwM2MPath(objectID: object.id, instanceID: $0) } }
    }

    /// The advertised content formats plus those every client of its version must support: TLV in
    /// LwM2M 1.0; plain text, opaque and link-format in 1.1 (as Leshan counts them).
    public var supportedContentFormats: Set<LwM2MContentFormat> {
        let mandatory: [LwM2MContentFormat] = lwm2mVersion < .v1_1 ? [.tlv] : [.plainText, .opaque, .linkFormat]
        return Set(contentFormats + mandatory)
    }

    /// The payload as links: the root link when it says something, then per object an object link
    /// when it has no instance or a version other than the default (`ver=`), then its instance links.
    public var links: [CoRELink] {
        var links: [CoRELink] = []
        var rootAttributes: [LwM2MLinkAttribute] = []
        if declaresRootPath || rootPath != "/" { rootAttributes.append(.resourceType(Self.lwm2mResourceType)) }
        if !contentFormats.isEmpty { rootAttributes.append(.contentFormats(contentFormats)) }
        if !rootAttributes.isEmpty {
            links.append(CoRELink(path: .root, rootPath: rootPath, attributes: rootAttributes))
        }
        for object in objects {
            let isDefaultVersion = object.version == Self.defaultObjectVersion(objectID: object.id, lwm2mVersion: lwm2mVersion)
            if object.instanceIDs.isEmpty || !isDefaultVersion {
                links.append(CoRELink(
                    path: LwM2MPath(objectID: object.id), rootPath: rootPath,
                    attributes: isDefaultVersion ? [] : [.objectVersion(object.version)]))
            }
            for instanceID in object.instanceIDs {
                links.append(CoRELink(path: LwM2MPath(objectID: object.id, instanceID: instanceID), rootPath: rootPath))
            }
        }
        return links
    }

    /// The payload text.
    public var text: String { LinkFormat.serialize(links) }

    /// The resource type that marks the root link (LwM2M 1.1 TS Core 6.2.1).
    public static let lwm2mResourceType = "oma.lwm2m"

    /// The version an object has when its link carries no `ver`: 1.0, except for the core objects
    /// of LwM2M 1.1, whose versions are those of the 1.1.1 TS (the table Leshan uses, see
    /// OMA_LwM2M_for_Developers issue 561). Later enablers use the 1.1 table: no 1.2 table is modelled.
    public static func defaultObjectVersion(objectID: UInt16, lwm2mVersion: LwM2MVersion) -> LwM2MVersion {
        guard lwm2mVersion >= .v1_1 else { return .v1_0 }
        switch objectID {
        case 0, 1, 3: return .v1_1
        case 4: return .v1_2
        default: return .v1_0
        }
    }

    /// Reads a Register or Update payload the way a tolerant server does.
    ///
    /// The root path is the link whose `rt` holds "oma.lwm2m" ("/" when none does); links below it
    /// must be object or object-instance paths, links elsewhere are not LwM2M objects and are
    /// skipped (Leshan). At least one object must be listed, every link must be an absolute path,
    /// no attribute may repeat on an LwM2M link, and LwM2M attributes must hold valid values. A
    /// trailing space, which Wakaama clients send, is accepted.
    public static func parse(_ text: String, lwm2mVersion: LwM2MVersion) -> Result<RegistrationPayload, LwM2MDecodingError> {
        Result { () throws(LwM2MDecodingError) in try RegistrationPayload(parsing: text, lwm2mVersion: lwm2mVersion) }
    }

    private init(parsing text: String, lwm2mVersion: LwM2MVersion) throws(LwM2MDecodingError) {
        func failure(_ reason: String) -> LwM2MDecodingError {
            LwM2MDecodingError(format: LinkFormat.formatName, reason: reason, offset: nil)
        }
        let links = try LinkFormat.parse(text, allowingTrailingWhitespace: true).get()
        for link in links where !Self.isAbsolutePath(link.uri) {
            throw failure("link <\(link.uri)> is not an absolute path; LwM2M object links are paths such as </3/0>")
        }
        let rootLink = links.first { link in
            link.attributes.contains { $0.name == "rt" && ($0.value ?? "").split(separator: " ").contains { $0 == Self.lwm2mResourceType } }
        }
        self.init(lwm2mVersion: lwm2mVersion, objects: [], rootPath: rootLink?.uri ?? "/", declaresRootPath: rootLink != nil)

        var listedObjectLinks: Set<UInt16> = []
        var objectIndex: [UInt16: Int] = [:]
        for link in links {
            guard let path = try Self.lwm2mPath(of: link, rootPath: rootPath) else { continue }
            let attributes = try Self.lwm2mAttributes(of: link)
            switch path.level {
            case .root:
                for case .contentFormats(let formats) in attributes { contentFormats = formats }
            case .object, .objectInstance:
                let objectID = path.objectID!
                let index = objectIndex[objectID] ?? objects.count
                if index == objects.count {
                    objectIndex[objectID] = index
                    objects.append(SupportedObject(
                        id: objectID, version: Self.defaultObjectVersion(objectID: objectID, lwm2mVersion: lwm2mVersion)))
                }
                if let instanceID = path.instanceID {
                    guard !objects[index].instanceIDs.contains(instanceID) else {
                        throw failure("link <\(link.uri)> is listed twice")
                    }
                    objects[index].instanceIDs.append(instanceID)
                } else {
                    guard listedObjectLinks.insert(objectID).inserted else {
                        throw failure("object link <\(link.uri)> is listed twice")
                    }
                    for case .objectVersion(let version) in attributes { objects[index].version = version }
                }
            case .resource, .resourceInstance:
                throw failure(
                    "link <\(link.uri)> is a resource; a Register payload lists objects and instances (LwM2M 1.1 TS Core 6.2.1)")
            }
        }
        guard !objects.isEmpty else {
            throw failure("the payload lists no object; Register must list the client's objects (LwM2M 1.1 TS Core 6.2.1)")
        }
    }

    /// An RFC 3986 path-absolute reference: "/" first, no authority ("//"), query or fragment.
    static func isAbsolutePath(_ uri: String) -> Bool {
        uri.hasPrefix("/") && !uri.hasPrefix("//") && !uri.contains("?") && !uri.contains("#")
    }

    /// The LwM2M path of a link below `rootPath` (ending in "/"); nil for a link elsewhere; an error
    /// for a link below the root that is not an LwM2M path (`</1/text/0>`, `</4/0/0/>`).
    static func lwm2mPath(of link: CoRELink, rootPath: String) throws(LwM2MDecodingError) -> LwM2MPath? {
        if link.uri == rootPath || link.uri + "/" == rootPath { return .root }
        guard link.uri.hasPrefix(rootPath) else { return nil }
        let segments = link.uri.dropFirst(rootPath.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        do throws(LwM2MPathError) {
            return try LwM2MPath(segments: segments)
        } catch {
            let reason = "link <\(link.uri)> below root path \(rootPath): \(error.reason)"
            throw LwM2MDecodingError(format: LinkFormat.formatName, reason: reason, offset: nil)
        }
    }

    /// The typed attributes of an LwM2M link; a name given twice is refused (RFC 6690 3.1 for rt,
    /// Wakaama answers 4.00 to a doubled rt).
    static func lwm2mAttributes(of link: CoRELink) throws(LwM2MDecodingError) -> [LwM2MLinkAttribute] {
        var names: Set<String> = []
        var attributes: [LwM2MLinkAttribute] = []
        for attribute in link.attributes {
            guard names.insert(attribute.name).inserted else {
                let reason = "link <\(link.uri)> has attribute '\(attribute.name)' more than once"
                throw LwM2MDecodingError(format: LinkFormat.formatName, reason: reason, offset: nil)
            }
            do throws(LwM2MDecodingError) {
                attributes.append(try LwM2MLinkAttribute(attribute))
            } catch {
                throw LwM2MDecodingError(format: error.format, reason: "link <\(link.uri)>: \(error.reason)", offset: nil)
            }
        }
        return attributes
    }
}
