/// The link-format answer to a Discover (LwM2M 1.1 TS Core 6.3) or Bootstrap-Discover (6.1.7.3):
/// the object, instances and resources below the target, each with its attributes, such as
/// `</3>;ver=1.1,</3/0>;pmin=10,</3/0/7>;dim=2` or `</>;lwm2m=1.1,</0/1>;ssid=101;uri="coap://server:5683"`.
public struct DiscoverResponse: Hashable, Sendable {
    /// One link of the answer.
    public struct Entry: Hashable, Sendable {
        public var path: LwM2MPath
        public var attributes: [LwM2MLinkAttribute]

        public init(path: LwM2MPath, attributes: [LwM2MLinkAttribute] = []) {
            self.path = path
            self.attributes = attributes
        }
    }

    /// What a client has of one object, to describe in an answer.
    public struct ObjectDescription: Hashable, Sendable {
        public var id: UInt16
        public var version: LwM2MVersion
        /// Attributes attached to the object (notification attributes written by the server).
        public var attributes: [LwM2MLinkAttribute]
        public var instances: [InstanceDescription]

        public init(
            id: UInt16, version: LwM2MVersion = .v1_0, attributes: [LwM2MLinkAttribute] = [], instances: [InstanceDescription] = []
        ) {
            self.id = id
            self.version = version
            self.attributes = attributes
            self.instances = instances
        }
    }

    /// One object instance: its attributes (`ssid`, `uri` for Bootstrap-Discover; notification
    /// attributes for Discover) and its resources.
    public struct InstanceDescription: Hashable, Sendable {
        public var id: UInt16
        public var attributes: [LwM2MLinkAttribute]
        public var resources: [ResourceDescription]

        public init(id: UInt16, attributes: [LwM2MLinkAttribute] = [], resources: [ResourceDescription] = []) {
            self.id = id
            self.attributes = attributes
            self.resources = resources
        }
    }

    /// One resource: for a multiple resource, the ids of its instances (which give `dim`).
    public struct ResourceDescription: Hashable, Sendable {
        public var id: UInt16
        /// nil for a single resource; the resource instance ids, in order, for a multiple one.
        public var instanceIDs: [UInt16]?
        public var attributes: [LwM2MLinkAttribute]

        public init(id: UInt16, instanceIDs: [UInt16]? = nil, attributes: [LwM2MLinkAttribute] = []) {
            self.id = id
            self.instanceIDs = instanceIDs
            self.attributes = attributes
        }
    }

    /// The path the client's objects hang below, ending in "/".
    public var rootPath: String
    public var entries: [Entry]

    public init(entries: [Entry], rootPath: String = "/") {
        self.entries = entries
        self.rootPath = rootPath.hasSuffix("/") ? rootPath : rootPath + "/"
    }

    /// The enabler version a Bootstrap-Discover answer gives on its root link (`</>;lwm2m=1.1`).
    public var enablerVersion: LwM2MVersion? {
        for entry in entries where entry.path == .root {
            for case .enablerVersion(let version) in entry.attributes { return version }
        }
        return nil
    }

    public var links: [CoRELink] {
        entries.map { CoRELink(path: $0.path, rootPath: rootPath, attributes: $0.attributes) }
    }

    /// The answer's text.
    public var text: String { LinkFormat.serialize(links) }

    /// The answer to a Discover on `target` (/o, /o/i or /o/i/r) within `object`; nil when the
    /// target is not there (the client answers 4.04) or is not one of those levels.
    ///
    /// On an object: the object link (with `ver` when not the default for `lwm2mVersion`), then each
    /// instance and its resources; on an instance: it and its resources; on a resource: it and, when
    /// multiple, its resource instances (as Leshan). A multiple resource carries `dim` first. The
    /// caller passes the attributes to show, inherited ones included.
    public static func discover(
        _ target: LwM2MPath, in object: ObjectDescription, lwm2mVersion: LwM2MVersion, rootPath: String = "/"
    ) -> DiscoverResponse? {
        guard target.objectID == object.id else { return nil }
        func resourceEntries(_ resource: ResourceDescription, of instancePath: LwM2MPath, withInstances: Bool) -> [Entry] {
            let path = LwM2MPath(objectID: object.id, instanceID: instancePath.instanceID, resourceID: resource.id)
            guard let instanceIDs = resource.instanceIDs else { return [Entry(path: path, attributes: resource.attributes)] }
            // dim is 0-255 (LwM2M 1.1 TS Core 5.1.2); a longer list is a caller's bug.
            precondition(instanceIDs.count <= 255, "a multiple resource has at most 255 instances in dim")
            var entries = [Entry(path: path, attributes: [.dimension(UInt8(instanceIDs.count))] + resource.attributes)]
            if withInstances {
                entries += instanceIDs.map {
                    Entry(path: LwM2MPath(
                        objectID: object.id, instanceID: instancePath.instanceID, resourceID: resource.id, resourceInstanceID: $0))
                }
            }
            return entries
        }
        func instanceEntries(_ instance: InstanceDescription) -> [Entry] {
            let path = LwM2MPath(objectID: object.id, instanceID: instance.id)
            return [Entry(path: path, attributes: instance.attributes)]
                + instance.resources.flatMap { resourceEntries($0, of: path, withInstances: false) }
        }
        var entries: [Entry]
        switch target.level {
        case .object:
            let version = versionAttribute(of: object, lwm2mVersion: lwm2mVersion)
            entries = [Entry(path: target, attributes: version + object.attributes)] + object.instances.flatMap(instanceEntries)
        case .objectInstance:
            guard let instance = object.instances.first(where: { $0.id == target.instanceID }) else { return nil }
            entries = instanceEntries(instance)
        case .resource:
            guard let instance = object.instances.first(where: { $0.id == target.instanceID }),
                  let resource = instance.resources.first(where: { $0.id == target.resourceID })
            else { return nil }
            entries = resourceEntries(resource, of: target.parent, withInstances: true)
        case .root, .resourceInstance:
            return nil
        }
        return DiscoverResponse(entries: entries, rootPath: rootPath)
    }

    /// The answer to a Bootstrap-Discover on "/" or on one object: `</>;lwm2m=<version>` first, then
    /// per object an object link when it has no instance or a version other than the default
    /// (`ver=`), then its instance links with their attributes (`ssid`, `uri`). Resources are not listed.
    public static func bootstrapDiscover(objects: [ObjectDescription], lwm2mVersion: LwM2MVersion) -> DiscoverResponse {
        var entries = [Entry(path: .root, attributes: [.enablerVersion(lwm2mVersion)])]
        for object in objects {
            let version = versionAttribute(of: object, lwm2mVersion: lwm2mVersion)
            if object.instances.isEmpty || !version.isEmpty {
                entries.append(Entry(path: LwM2MPath(objectID: object.id), attributes: version + object.attributes))
            }
            for instance in object.instances {
                let path = LwM2MPath(objectID: object.id, instanceID: instance.id)
                entries.append(Entry(path: path, attributes: instance.attributes))
            }
        }
        return DiscoverResponse(entries: entries)
    }

    /// `ver` when the object's version is not the default for `lwm2mVersion`, as Leshan writes it.
    private static func versionAttribute(of object: ObjectDescription, lwm2mVersion: LwM2MVersion) -> [LwM2MLinkAttribute] {
        let defaultVersion = RegistrationPayload.defaultObjectVersion(objectID: object.id, lwm2mVersion: lwm2mVersion)
        return object.version == defaultVersion ? [] : [.objectVersion(object.version)]
    }

    /// Reads a (Bootstrap-)Discover answer: every link must be an LwM2M path below `rootPath` (or the
    /// root link itself), no attribute may repeat on a link, and LwM2M attributes must hold valid
    /// values (`dim` 0-255, `ssid` 1-65534, `pmin` with a value, ...).
    public static func parse(_ text: String, rootPath: String = "/") -> Result<DiscoverResponse, LwM2MDecodingError> {
        Result { () throws(LwM2MDecodingError) in
            let response = DiscoverResponse(entries: [], rootPath: rootPath)
            var entries: [Entry] = []
            for link in try LinkFormat.parse(text).get() {
                guard RegistrationPayload.isAbsolutePath(link.uri),
                      let path = try RegistrationPayload.lwm2mPath(of: link, rootPath: response.rootPath)
                else {
                    let reason = "link <\(link.uri)> is not below root path \(response.rootPath)"
                    throw LwM2MDecodingError(format: LinkFormat.formatName, reason: reason, offset: nil)
                }
                entries.append(Entry(path: path, attributes: try RegistrationPayload.lwm2mAttributes(of: link)))
            }
            return DiscoverResponse(entries: entries, rootPath: rootPath)
        }
    }
}
