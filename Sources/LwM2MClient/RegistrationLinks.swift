import LwM2M

/// The object links a device sends in Register (and in an Update when they changed), encoded once.
///
/// Every device of a profile lists the same instances unless it created or deleted some, so the
/// profile caches these by instance list and LwM2M version: building the link-format text per
/// Register was the largest share of a registration's CPU time.
struct RegistrationLinks: Sendable {
    /// What the links depend on, within one profile.
    struct Key: Hashable, Sendable {
        var instanceKeys: [InstanceKey]
        var lwm2mVersion: LwM2MVersion
    }

    /// The link-format payload.
    let bytes: [UInt8]
    /// Tells an Update whether the links changed since the last Register or Update.
    let hash: Int

    init(text: String) {
        bytes = Array(text.utf8)
        hash = text.hashValue
    }
}
