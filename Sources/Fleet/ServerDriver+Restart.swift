import CoAP
import LwM2MServer

// A restart of the embedded LwM2M Server mid-run (`ServerRestart`): down for a while, then back
// with none of the registrations it held. The Bootstrap-Server stays up, so devices the restart
// sends back to bootstrap find it.
extension ServerDriver {
    /// Restarts the LwM2M Server `delayNanoseconds` from now; it stays down `downNanoseconds`.
    public func scheduleRestart(afterNanoseconds delayNanoseconds: UInt64, downNanoseconds: UInt64) {
        restartDowntimeNanoseconds = downNanoseconds
        _ = loop.schedule(at: loop.now + delayNanoseconds, tag: Self.restartTag)
    }

    /// The server stops answering and forgets everything: its registrations, the requests it had
    /// in flight, its duplicate cache, its DTLS sessions (devices must handshake again). The one that comes back has a new seed, so it hands out
    /// other registration locations than the old one did.
    func goDown() {
        registrationsLost += registrationServer.registrationCount
        restarts += 1
        registrationServer = LwM2MRegistrationServer(configuration: registrationServer.configuration, seed: 1 &+ restarts &* 0x9E37_79B9)
        dtlsPeers?.dropSessions(on: Self.dtlsServerTag)
        isServerDown = true
        _ = loop.schedule(at: loop.now + restartDowntimeNanoseconds, tag: Self.backUpTag)
    }

    /// The server answers again, empty.
    func comeBack() {
        isServerDown = false
    }
}
