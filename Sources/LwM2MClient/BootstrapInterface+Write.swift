import CoAP
import LwM2M

extension BootstrapInterface {
    /// Bootstrap-Write (LwM2M 1.1 TS Core 6.1.7, 1.0 TS 5.2): PUT on /o, /o/i, /o/i/r or /o/i/r/ri.
    /// Its only error codes are 4.00 and 4.15 (1.1 TS Transport 6.7), so a path the client does not
    /// have (an unknown object or resource) is 4.00, where a DM Write would answer 4.04.
    ///
    /// The values are written whether or not the instance or resource exists (it is created) and
    /// whatever the resources' R/W operations say. Resources the object does not define are ignored,
    /// as the TS asks for unsupported optional resources. What is not in the payload is kept: a write
    /// on an existing instance replaces only the resources it names (each as a whole, all its
    /// instances), an object-level write does so in each instance it carries, and a write on a resource
    /// instance replaces that instance only. The TS says to write the payload's values and nothing
    /// about removing others, and a Bootstrap-Server that wants a clean instance deletes it first.
    static func write(
        _ request: CoAPMessage, path: LwM2MPath, store: inout ObjectStore, lwm2mVersion: LwM2MVersion
    ) -> BootstrapResult {
        guard let objectID = path.objectID else {
            return .answer(.badRequest, .bootstrapWrite, reason: "Bootstrap-Write targets an object, instance or resource, not /")
        }
        guard let definition = store.model.object(objectID) else {
            return .answer(.badRequest, .bootstrapWrite, reason: "object \(objectID) is not supported")
        }
        if let resourceID = path.resourceID {
            guard let resource = definition.resource(resourceID) else {
                return .answer(.badRequest, .bootstrapWrite, reason: "object \(objectID) has no resource \(resourceID)")
            }
            if path.level == .resourceInstance, !resource.isMultipleInstance {
                return .answer(.badRequest, .bootstrapWrite, reason: "resource \(path.parent) is not multiple, \(path) has no meaning")
            }
        }
        if let problem = objectVersionProblem(request, definition: definition) {
            return .answer(.badRequest, .bootstrapWrite, reason: problem)
        }
        guard let code = request.contentFormat else {
            return .answer(.unsupportedContentFormat, .bootstrapWrite, reason: "Bootstrap-Write needs a Content-Format")
        }
        let format = LwM2MContentFormat(rawValue: code)
        guard carriesValues(format, lwm2mVersion: lwm2mVersion) else {
            return .answer(
                .unsupportedContentFormat, .bootstrapWrite,
                reason: "an LwM2M \(lwm2mVersion) client does not write values from \(format) (\(code))")
        }
        let records: [LwM2MRecord]
        switch LwM2MPayloadCodec.decode(Array(request.payload), format: format, requestPath: path, model: store.model) {
        case .success(let decoded): records = decoded.filter { $0.path.resourceID.flatMap(definition.resource) != nil }
        case .failure(let error): return .answer(.badRequest, .bootstrapWrite, reason: error.description)
        }
        if path.level == .object {
            var byInstance: [InstanceKey: [LwM2MRecord]] = [:]
            for record in records {
                if let key = InstanceKey(record.path) { byInstance[key, default: []].append(record) }
            }
            for (key, instanceRecords) in byInstance { store.update(key, with: instanceRecords) }
        } else if let key = InstanceKey(path) {
            if path.level == .resourceInstance {
                let others = (store.storedRecords(key) ?? []).filter { $0.path != path }
                store.replaceInstance(key, with: others + records)
            } else {
                store.update(key, with: records)
            }
        }
        return .answer(.changed, .bootstrapWrite)
    }

    /// Why the object version the request names is not the one the client implements, if it is not.
    ///
    /// The TS asks the Bootstrap-Server to state the version of an object that is not defined by the
    /// enabler and has a version above 1.0, but gives no wire form for it in a Write. Our assumption:
    /// a Uri-Query `ver=X.Y`, the attribute name and form Discover and Register use for object versions.
    private static func objectVersionProblem(_ request: CoAPMessage, definition: LwM2MObjectDefinition) -> String? {
        for item in request.uriQuery {
            let parameter = LwM2MQueryParameter(queryItem: item)
            guard parameter.name == "ver" else { continue }
            guard let text = parameter.value, let requested = LwM2MVersion(text) else {
                return "Uri-Query '\(item)': ver must be the object version MAJOR.MINOR"
            }
            guard LwM2MVersion(definition.objectVersion) == requested else {
                return "object \(definition.id) is version \(definition.objectVersion) here, the write is for version \(requested)"
            }
        }
        return nil
    }
}
