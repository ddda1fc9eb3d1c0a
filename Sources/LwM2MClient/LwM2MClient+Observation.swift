import CoAP
import LwM2M

// Information reporting: observations and their notifications (TS Core 6.4, RFC 7641).
extension LwM2MClient {
    /// Registers an observation answered by `response`; returns the Observe value of that response.
    mutating func startObservation(_ request: CoAPMessage, path: LwM2MPath, response: CoAPMessage, now: Timestamp) -> UInt32 {
        observations.removeAll { $0.token == request.token }
        let format = response.contentFormat.map(LwM2MContentFormat.init(rawValue:)) ?? configuration.defaultContentFormat
        observations.append(Observation(
            token: request.token, path: path, format: format, lastNotifiedAt: now, lastConfirmableAt: now, checkedAt: now,
            lastPayload: Array(response.payload)))
        return takeObserveValue()
    }

    /// The Observe value of the next notification or Observe response, of any observation (RFC
    /// 7641 4.4). An observer drops as stale a value that is not fresher than the last it got on a
    /// token within 128 s (3.4), and keeps what it got across the token being registered again, or
    /// cancelled and observed again: one sequence for the whole device never goes back.
    mutating func takeObserveValue() -> UInt32 {
        lastObserveValue = (lastObserveValue &+ 1) & 0xFF_FFFF
        return lastObserveValue
    }

    /// pmin and pmax in seconds for `path`: written attributes from the nearest level, else the
    /// Server object's Default Minimum / Maximum Period (/1/x/2, /1/x/3).
    func notificationPeriods(for path: LwM2MPath, now: Timestamp) -> (minimum: UInt64, maximum: UInt64?) {
        let defaults = NotificationAttributes.serverDefaults(in: store, shortServerID: account?.shortServerID ?? 0, now: now)
        let effective = attributes.effective(at: path, serverDefaults: defaults)
        return (UInt64(effective.minimumPeriodSeconds ?? 0), effective.maximumPeriodSeconds.flatMap { $0 == 0 ? nil : UInt64($0) })
    }

    /// The first time a value under `path` may change after `time`, from the profile's generators.
    func nextValueChange(under path: LwM2MPath, after time: Timestamp) -> Timestamp? {
        var earliest: Timestamp?
        for (key, generator) in store.profile.generators
        where key.objectID == path.objectID && (path.resourceID == nil || path.resourceID == key.resourceID) {
            let change = generator.nextChange(after: time)
            if earliest.map({ change < $0 }) ?? true { earliest = change }
        }
        return earliest
    }

    /// When the earliest observation next needs a look.
    func nextObservationDeadline() -> Timestamp? {
        // Notifications wait while the device is not registered (bootstrapping, say): no wake-ups,
        // or a deadline that cannot be served would come back at once, forever.
        guard isRegistered, serverEndpoint != nil else { return nil }
        var earliest: Timestamp?
        for observation in observations {
            let periods = notificationPeriods(for: observation.path, now: observation.checkedAt)
            let allowed = observation.lastNotifiedAt.adding(milliseconds: periods.minimum * 1000)
            var candidates: [Timestamp] = []
            if let maximum = periods.maximum { candidates.append(observation.lastNotifiedAt.adding(milliseconds: maximum * 1000)) }
            if let change = nextValueChange(under: observation.path, after: observation.checkedAt) { candidates.append(max(change, allowed)) }
            for candidate in candidates where earliest.map({ candidate < $0 }) ?? true { earliest = candidate }
        }
        return earliest
    }

    /// RFC 7641 4.5: at least one notification in 24 hours goes confirmable.
    static let confirmableNotificationIntervalMilliseconds: UInt64 = 24 * 3600 * 1000

    /// Sends the notifications that are due: a changed value once pmin has passed, or any value
    /// once pmax has passed.
    mutating func notifyDueObservations(now: Timestamp, actions: inout [ClientAction]) {
        guard serverEndpoint != nil, isRegistered else { return }
        var output = CoAPEndpointOutput()
        for index in observations.indices {
            let observation = observations[index]
            let periods = notificationPeriods(for: observation.path, now: now)
            guard now >= observation.lastNotifiedAt.adding(milliseconds: periods.minimum * 1000) else { continue }
            observations[index].checkedAt = now
            guard let records = store.records(at: observation.path, now: now),
                  case .success(let payload) = LwM2MPayloadCodec.encode(records, format: observation.format, requestPath: observation.path)
            else { continue }
            let maximumPassed = periods.maximum.map { now >= observation.lastNotifiedAt.adding(milliseconds: $0 * 1000) } ?? false
            guard payload != observation.lastPayload || maximumPassed else { continue }
            var notification = CoAPMessage(type: .nonConfirmable, code: .content, token: observation.token)
            notification.options.append(.observe, uint: UInt64(takeObserveValue()))
            notification.options.append(.contentFormat, uint: UInt64(observation.format.rawValue))
            notification.payload = payload[...]
            let confirmable = configuration.confirmableNotifications
                || now >= observation.lastConfirmableAt.adding(milliseconds: Self.confirmableNotificationIntervalMilliseconds)
            if confirmable { observations[index].lastConfirmableAt = now }
            serverEndpoint!.notify(notification, confirmable: confirmable, now: now, output: &output)
            observations[index].lastNotifiedAt = now
            observations[index].lastPayload = payload
            actions.append(.notificationSent(observation.path))
        }
        for datagram in output.datagrams { actions.append(.send(.server, datagram)) }
    }
}
