import CMbedTLS
import CoAP

/// One DTLS 1.2 session over mbedTLS, sans I/O: what `DTLSClientSession` and
/// `DTLSServerSession` share.
///
/// Feed it datagrams with `receive`, plaintext with `send`, and call `handleDeadline` when
/// `nextDeadline` has passed. Each call appends the datagrams to send, the decrypted application
/// data and the events to a `DTLSOutput`. mbedTLS does the handshake and the records; this class
/// is its transport and clock: its send callback appends to the output, its receive callback
/// hands over the one datagram being processed, and its timer callbacks read the `now` of the
/// current call, so retransmissions (RFC 6347 4.2.4) run on the driver's clock, never the wall's.
///
/// A class, not a struct like `CoAPEndpoint`: mbedTLS keeps pointers into its context, and
/// hands this object back to the callbacks as an opaque pointer, so neither may move. The
/// context, with its two 16 KB record buffers (about 36 KB of heap in all), lives until deinit,
/// or until `park`, which keeps the session's state in a few hundred bytes until the next call
/// that needs it. Connection ID (RFC 9146) is not compiled into Debian's mbedTLS 2.28, so a peer
/// whose address changes needs a new handshake.
public class DTLSSession {
    /// Where a session's mbedTLS config comes from.
    enum ConfigurationSource {
        /// One config all of a server's sessions share; it outlives them, parked or not.
        case shared(MbedTLSConfiguration)
        /// A client's own config (mbedTLS 2.28 keeps the client's PSK in the config), freed while
        /// the session is parked and built again from these to load it; `random` is where the
        /// config's generator stood when the session was parked.
        case own(PreSharedKey, DTLSParameters, random: SeededRandom)
    }

    /// The mbedTLS side of the session: a live context, or the state saved from one.
    private enum Context {
        /// The context and the config it points to, which must outlive it.
        case live(UnsafeMutablePointer<mbedtls_ssl_context>, MbedTLSConfiguration)
        /// mbedtls_ssl_context_save's blob: the context is freed, and so is a client's config.
        case parked([UInt8])
        /// Nothing: loading the saved state failed, and so did the session.
        case lost
    }

    private var source: ConfigurationSource
    private var context: Context
    /// Server: the peer's transport address as the caller names it, bound into the cookie.
    private let transportID: [UInt8]?
    /// Where the session stands; `DTLSEvent`s report each change.
    public private(set) final var state: DTLSSessionState
    /// Server: the PSK identity the client presented and the server had a key for.
    final var peerIdentity: [UInt8]?
    /// The retransmission timer mbedTLS last set, on the driver's clock; nil when cancelled.
    private var timer: (intermediate: Timestamp, final: Timestamp)?
    /// `maximumPlaintextLength`, fixed once established and known without the context.
    private var plaintextLimit = 0
    /// Whether the handshake running took the abbreviated path after the ServerHello.
    private var handshakeResumes = false

    // What the callbacks see, set only while a call into mbedTLS runs.
    private var now = Timestamp.zero
    private var incoming: UnsafeRawBufferPointer?
    private var output: UnsafeMutablePointer<DTLSOutput>?

    /// A session on the config `source` gives: a client one when `transportID` is nil, else a
    /// server one for the peer it names, which waits for the ClientHello.
    init(source: ConfigurationSource, transportID: [UInt8]?) {
        self.source = source
        self.transportID = transportID
        state = transportID == nil ? .notStarted : .handshaking
        context = .lost
        let configuration = makeConfiguration()
        context = .live(makeContext(on: configuration), configuration)
        setTransportID()
    }

    /// The config a new or loaded context points to: the shared one, or a client's own anew.
    private func makeConfiguration() -> MbedTLSConfiguration {
        switch source {
        case .shared(let configuration): configuration
        case .own(let key, let parameters, let random): MbedTLSConfiguration(client: key, parameters: parameters, random: random)
        }
    }

    /// A context readied on `configuration` for a handshake or for a parked session's state:
    /// buffers, our transport and our clock.
    private func makeContext(on configuration: MbedTLSConfiguration) -> UnsafeMutablePointer<mbedtls_ssl_context> {
        let ssl = UnsafeMutablePointer<mbedtls_ssl_context>.allocate(capacity: 1)
        mbedtls_ssl_init(ssl)
        // Fails only when mbedTLS cannot allocate its record buffers.
        let setup = mbedtls_ssl_setup(ssl, configuration.config)
        precondition(setup == 0, "mbedtls_ssl_setup failed: \(setup)")
        let opaqueSelf = Unmanaged.passUnretained(self).toOpaque()
        mbedtls_ssl_set_bio(ssl, opaqueSelf, sendCallback, receiveCallback, nil)
        mbedtls_ssl_set_timer_cb(ssl, opaqueSelf, setTimerCallback, getTimerCallback)
        return ssl
    }

    deinit {
        if case .live(let ssl, _) = context { Self.release(ssl) }
    }

    private static func release(_ ssl: UnsafeMutablePointer<mbedtls_ssl_context>) {
        mbedtls_ssl_free(ssl)
        ssl.deallocate()
    }

    /// The live context; only called where the session is known to be unparked.
    private var ssl: UnsafeMutablePointer<mbedtls_ssl_context> {
        guard case .live(let ssl, _) = context else { preconditionFailure("a parked DTLS session's context was used") }
        return ssl
    }

    /// The session whose context is `ssl`, for callbacks that get only the context.
    static func owning(_ ssl: UnsafeMutablePointer<mbedtls_ssl_context>) -> DTLSSession? {
        ssl.pointee.p_bio.map { Unmanaged<DTLSSession>.fromOpaque($0).takeUnretainedValue() }
    }

    /// When `handleDeadline` has work to do: the handshake retransmission timer, nil otherwise.
    public final var nextDeadline: Timestamp? {
        guard case .handshaking = state else { return nil }
        return timer?.final
    }

    /// The most plaintext one `send` takes once established: one record, no fragmentation.
    public final var maximumPlaintextLength: Int {
        guard case .established = state else { return 0 }
        return plaintextLimit
    }

    /// Whether the session is parked: established, its context freed, its state kept.
    public final var isParked: Bool {
        if case .parked = context { return true }
        return false
    }

    // MARK: Parking

    /// Parks an established session with nothing in flight: its keys, sequence numbers and
    /// replay window are saved in a few hundred bytes (mbedtls_ssl_context_save); its context,
    /// about 35 KB, is freed, and so is a client's own config. The next `receive`, `send` or
    /// `close` loads it again (about 23 us, keys derived anew), transparently to the peer.
    ///
    /// Returns false, and the session goes on unparked, when mbedTLS cannot save it: not
    /// established, a CBC suite (mbedTLS saves AEAD sessions only), or a server that has not yet
    /// received an application record (it keeps its last flight until then, RFC 6347 4.2.4).
    @discardableResult
    public final func park() -> Bool {
        guard case .established = state else { return false }
        guard case .live(let ssl, let configuration) = context else { return isParked }
        var length = 0
        guard mbedtls_ssl_context_save(ssl, nil, 0, &length) == MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL else { return false }
        var saved = [UInt8](repeating: 0, count: length)
        guard mbedtls_ssl_context_save(ssl, &saved, saved.count, &length) == 0 else { return false }
        // The save reset the context, which no longer holds the connection.
        Self.release(ssl)
        if case .own(let key, let parameters, _) = source {
            source = .own(key, parameters, random: configuration.random)
        }
        timer = nil
        context = .parked(saved)
        return true
    }

    /// Loads a parked session into a new context; false when mbedTLS refused, and the session
    /// failed. The saved state is dropped either way: mbedTLS forbids loading it twice.
    private func unparkIfNeeded() -> Bool {
        guard case .parked(let saved) = context else { return true }
        let configuration = makeConfiguration()
        let ssl = makeContext(on: configuration)
        let loaded = saved.withUnsafeBufferPointer { mbedtls_ssl_context_load(ssl, $0.baseAddress, $0.count) }
        guard loaded == 0 else {
            Self.release(ssl)
            context = .lost
            fail(loaded)
            return false
        }
        context = .live(ssl, configuration)
        setTransportID()
        return true
    }

    // MARK: Driving

    /// Starts the handshake of a client session.
    final func startHandshake(now: Timestamp, output: inout DTLSOutput) {
        guard case .notStarted = state else { return }
        state = .handshaking
        perform(now: now, datagram: nil, output: &output) { advance() }
    }

    /// Takes one datagram from the peer: a handshake flight, application data, an alert, or
    /// garbage, which an established session drops (RFC 6347 4.1.2.7). Ignored before `start`
    /// and once the session is closed or failed.
    public final func receive(_ datagram: UnsafeRawBufferPointer, now: Timestamp, output: inout DTLSOutput) {
        switch state {
        case .handshaking, .established:
            let usable = DatagramScreen.usablePrefix(of: datagram, establishedServer: transportID != nil && state != .handshaking)
            perform(now: now, datagram: usable, output: &output) {
                if unparkIfNeeded() { advance() }
            }
        case .notStarted, .closed, .failed:
            break
        }
    }

    public final func receive(_ datagram: [UInt8], now: Timestamp, output: inout DTLSOutput) {
        datagram.withUnsafeBytes { receive($0, now: now, output: &output) }
    }

    /// Retransmits the last flight when its timer ran out, or fails the handshake with
    /// `DTLSFailure.timeout` after the last retransmission.
    public final func handleDeadline(now: Timestamp, output: inout DTLSOutput) {
        guard case .handshaking = state, let timer, timer.final <= now else { return }
        perform(now: now, datagram: nil, output: &output) { handshake() }
    }

    /// Sends `plaintext` as one application data record; false, and nothing sent, when the
    /// session is not established or the plaintext exceeds `maximumPlaintextLength`.
    @discardableResult
    public final func send(_ plaintext: UnsafeRawBufferPointer, now: Timestamp, output: inout DTLSOutput) -> Bool {
        guard case .established = state, plaintext.count <= maximumPlaintextLength else { return false }
        return perform(now: now, datagram: nil, output: &output) {
            guard unparkIfNeeded() else { return false }
            let written = mbedtls_ssl_write(ssl, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), plaintext.count)
            guard written >= 0 else {
                fail(written)
                return false
            }
            return true
        }
    }

    @discardableResult
    public final func send(_ plaintext: [UInt8], now: Timestamp, output: inout DTLSOutput) -> Bool {
        plaintext.withUnsafeBytes { send($0, now: now, output: &output) }
    }

    /// Sends close_notify and ends the session; the peer learns of it only if that datagram
    /// arrives (DTLS does not retransmit alerts).
    public final func close(now: Timestamp, output: inout DTLSOutput) {
        switch state {
        case .handshaking, .established:
            perform(now: now, datagram: nil, output: &output) {
                guard unparkIfNeeded() else { return }
                _ = mbedtls_ssl_close_notify(ssl)
                state = .closed
                timer = nil
            }
        case .notStarted, .closed, .failed:
            break
        }
    }

    /// Runs `body` with the callbacks pointed at this call's clock, datagram and output.
    private func perform<Result>(
        now: Timestamp, datagram: UnsafeRawBufferPointer?, output: inout DTLSOutput, _ body: () -> Result
    ) -> Result {
        self.now = now
        incoming = datagram
        defer { incoming = nil }
        return withUnsafeMutablePointer(to: &output) { pointer in
            self.output = pointer
            defer { self.output = nil }
            return body()
        }
    }

    /// Runs the handshake, then reads records, until mbedTLS waits for a datagram or the timer.
    private func advance() {
        // Each pass consumes the datagram, completes the handshake or ends the session, but for
        // two cases that need one more pass each: mbedTLS retransmitting on an expired timer
        // before it reads, and a peer restarting the handshake in an established session.
        for _ in 0..<4 {
            switch state {
            case .handshaking:
                handshake()
                if case .handshaking = state, incoming == nil { return }
            case .established:
                readRecords()
                guard case .handshaking = state else { return }
            case .notStarted, .closed, .failed:
                return
            }
        }
    }

    private func handshake() {
        // With the timer run out, mbedTLS sends its last flight again before it reads anything.
        let retransmits = timerState == 2
        let sent = output?.pointee.datagrams.count ?? 0
        let result = handshakeSteps()
        if retransmits, let output, output.pointee.datagrams.count > sent { output.pointee.flightsRetransmitted += 1 }
        switch result {
        case 0:
            let suite = negotiatedCipherSuite
            plaintextLimit = max(Int(mbedtls_ssl_get_max_out_record_payload(ssl)), 0)
            state = .established(suite)
            output?.pointee.events.append(.established(suite, resumed: handshakeResumes))
        case MBEDTLS_ERR_SSL_WANT_READ, MBEDTLS_ERR_SSL_WANT_WRITE:
            break
        case MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED:
            // The server sent a HelloVerifyRequest and, as RFC 6347 4.2.1 wants, keeps nothing
            // for this client until it comes back with the cookie. mbedTLS wants the context
            // reset for that, which forgets the transport id: set it again.
            let reset = mbedtls_ssl_session_reset(ssl)
            guard reset == 0 else { return fail(reset) }
            timer = nil
            setTransportID()
        default:
            fail(result)
        }
    }

    /// mbedtls_ssl_handshake's loop, one step at a time, to see which way the handshake goes
    /// after the ServerHello: on to the server's certificate state (a full handshake, though a
    /// PSK one skips the message), or straight to its ChangeCipherSpec (a resumed one, RFC 5077
    /// 3.1). mbedTLS 2.28 has no accessor for it, and frees its flag with the handshake.
    private func handshakeSteps() -> Int32 {
        let serverHello = Int32(MBEDTLS_SSL_SERVER_HELLO.rawValue)
        while ssl.pointee.state != Int32(MBEDTLS_SSL_HANDSHAKE_OVER.rawValue) {
            let before = ssl.pointee.state
            let result = mbedtls_ssl_handshake_step(ssl)
            if before == serverHello, ssl.pointee.state != before {
                handshakeResumes = ssl.pointee.state != Int32(MBEDTLS_SSL_SERVER_CERTIFICATE.rawValue)
            }
            if result != 0 { return result }
        }
        return 0
    }

    // MARK: Resumption

    /// Client: the session state and ticket that a later session can resume from
    /// (mbedtls_ssl_session_save, a few hundred bytes); nil unless established, unparked and
    /// holding a ticket: servers here keep no session cache to resume a session id from.
    final func savedSession() -> [UInt8]? {
        guard case .established = state, case .live(let ssl, _) = context else { return nil }
        var session = mbedtls_ssl_session()
        mbedtls_ssl_session_init(&session)
        defer { mbedtls_ssl_session_free(&session) }
        guard mbedtls_ssl_get_session(ssl, &session) == 0, session.ticket != nil else { return nil }
        var length = 0
        guard mbedtls_ssl_session_save(&session, nil, 0, &length) == MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL else { return nil }
        var saved = [UInt8](repeating: 0, count: length)
        guard mbedtls_ssl_session_save(&session, &saved, saved.count, &length) == 0 else { return nil }
        return saved
    }

    /// Client, before the handshake: offers the session `saved` holds (its ticket) to resume;
    /// false, and a full handshake, when mbedTLS cannot load it.
    final func offer(savedSession saved: [UInt8]) -> Bool {
        guard case .notStarted = state, case .live(let ssl, _) = context else { return false }
        var session = mbedtls_ssl_session()
        mbedtls_ssl_session_init(&session)
        defer { mbedtls_ssl_session_free(&session) }
        let loaded = saved.withUnsafeBufferPointer { mbedtls_ssl_session_load(&session, $0.baseAddress, $0.count) }
        return loaded == 0 && mbedtls_ssl_set_session(ssl, &session) == 0
    }

    /// Decrypts every record left in the datagram, delivering application data in order.
    private func readRecords() {
        // mbedTLS returns one record's data (or an error) per call and WANT_READ once the
        // datagram is used up; a datagram of at most 64 KiB holds fewer than 5,042 records.
        for _ in 0..<5_042 {
            let result = readRecord()
            switch result {
            case 0...:
                continue
            case MBEDTLS_ERR_SSL_WANT_READ, MBEDTLS_ERR_SSL_WANT_WRITE:
                return
            case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
                state = .closed
                output?.pointee.events.append(.closedByPeer)
                return
            case MBEDTLS_ERR_SSL_CLIENT_RECONNECT:
                // mbedTLS reset the context and kept the ClientHello for the next handshake.
                state = .handshaking
                peerIdentity = nil
                output?.pointee.events.append(.restartedByPeer)
                return
            default:
                fail(result)
                return
            }
        }
    }

    /// Reads one application record into the output; its length, or mbedTLS's error code.
    private func readRecord() -> Int32 {
        // Read in chunks from a small stack buffer so that each record is delivered in an array
        // of its own size, rather than reserving the 16 KB a record may reach.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1_024) { chunk in
            var result = mbedtls_ssl_read(ssl, chunk.baseAddress, chunk.count)
            guard result > 0 else { return result }
            var record = Array(chunk.prefix(Int(result)))
            while mbedtls_ssl_get_bytes_avail(ssl) > 0 {
                result = mbedtls_ssl_read(ssl, chunk.baseAddress, chunk.count)
                guard result > 0 else { break }
                record.append(contentsOf: chunk.prefix(Int(result)))
            }
            output?.pointee.applicationData.append(record)
            return Int32(record.count)
        }
    }

    private func fail(_ code: Int32) {
        let failure = DTLSFailure(code: code, receivedAlert: code == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ? receivedAlert : 0)
        state = .failed(failure)
        timer = nil
        output?.pointee.events.append(.failed(failure))
    }

    /// The description byte of the alert record mbedTLS just read (RFC 5246 7.2: level, then
    /// description); mbedTLS 2.28 has no accessor for it.
    private var receivedAlert: UInt8 {
        guard let message = ssl.pointee.in_msg, ssl.pointee.in_msglen >= 2 else { return 0 }
        return message[1]
    }

    private var negotiatedCipherSuite: DTLSCipherSuite {
        let id = mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(ssl))
        guard let suite = DTLSCipherSuite(rawValue: id) else {
            preconditionFailure("mbedTLS negotiated suite \(id), which the configuration does not list")
        }
        return suite
    }

    private func setTransportID() {
        guard let transportID else { return }
        let set = transportID.withUnsafeBufferPointer { mbedtls_ssl_set_client_transport_id(ssl, $0.baseAddress, $0.count) }
        // Fails only when mbedTLS cannot allocate the copy.
        precondition(set == 0, "mbedtls_ssl_set_client_transport_id failed: \(set)")
    }

    // MARK: Callbacks

    /// The send callback: one call is one datagram (mbedTLS packs a flight's records into it).
    fileprivate func transmit(_ datagram: UnsafeRawBufferPointer) -> Int32 {
        // Outside a call mbedTLS sends nothing; if it ever did, that datagram is lost, as on a
        // network, rather than left half-sent inside mbedTLS.
        output?.pointee.datagrams.append(Array(datagram))
        return Int32(datagram.count)
    }

    /// The receive callback: the datagram of the current `receive`, once.
    fileprivate func handOverDatagram(into buffer: UnsafeMutablePointer<UInt8>?, capacity: Int) -> Int32 {
        guard let datagram = incoming, let buffer else { return MBEDTLS_ERR_SSL_WANT_READ }
        incoming = nil
        // An empty datagram would read as end of file, which ends an mbedTLS session; one larger
        // than mbedTLS's input buffer is none a peer could send, and cut to fit it could end in a
        // partial record header, which mbedTLS 2.28 takes as fatal (see `DatagramScreen`).
        guard !datagram.isEmpty, datagram.count <= capacity else { return MBEDTLS_ERR_SSL_WANT_READ }
        UnsafeMutableRawPointer(buffer).copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
        return Int32(datagram.count)
    }

    fileprivate func setTimer(intermediateMilliseconds: UInt32, finalMilliseconds: UInt32) {
        // mbedTLS cancels the timer with a final delay of 0.
        timer = finalMilliseconds == 0 ? nil : (
            intermediate: now.adding(milliseconds: UInt64(intermediateMilliseconds)),
            final: now.adding(milliseconds: UInt64(finalMilliseconds)))
    }

    /// mbedTLS's timer states: -1 cancelled, 0 running, 1 intermediate delay passed, 2 final.
    fileprivate var timerState: Int32 {
        guard let timer else { return -1 }
        if now >= timer.final { return 2 }
        return now >= timer.intermediate ? 1 : 0
    }
}

private func session(_ context: UnsafeMutableRawPointer?) -> DTLSSession {
    // mbedTLS passes back the pointer each session registered as its own.
    Unmanaged<DTLSSession>.fromOpaque(context!).takeUnretainedValue()
}

private func sendCallback(_ context: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ length: Int) -> Int32 {
    session(context).transmit(UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : length))
}

private func receiveCallback(_ context: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ length: Int) -> Int32 {
    session(context).handOverDatagram(into: buffer, capacity: length)
}

private func setTimerCallback(_ context: UnsafeMutableRawPointer?, _ intermediateMilliseconds: UInt32, _ finalMilliseconds: UInt32) {
    session(context).setTimer(intermediateMilliseconds: intermediateMilliseconds, finalMilliseconds: finalMilliseconds)
}

private func getTimerCallback(_ context: UnsafeMutableRawPointer?) -> Int32 {
    session(context).timerState
}
