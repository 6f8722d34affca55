/// What one client does on the wire: the phases of its pull check-ins and push connection.
///
/// Sizes are drawn from the plan's `SimulatedSizes`, fitted to the model: under the built-in one an idle
/// check-in carries 3,400-4,600 bytes of content (inside the model's idle range), a full one adds a 20-60 KB
/// download, a log upload below the model's upload cap and a 4-30 KB sensor upload (well under the
/// full-heartbeat maximum); the oversize-upload fault sends the cap plus 20 KB.
struct ClientActor {
    let client: Int
    var random: SimulationRandom
    var nextEvent = 0
    var phase: Phase?
    var nextPort: UInt16
    var serial: UInt64 = 0
    /// The open push connection, once set up.
    var pushConnection: ConnectionCursor?
    var lastActivity: Int64 = 0

    init(client: Int, seed: UInt64) {
        self.client = client
        random = SimulationRandom(seed: seed, stream: UInt64(client) &+ 0xAC70_0000_0000)
        nextPort = UInt16(49_152 + random.int(0...9_999))
    }

    /// A connection to `manager`, or to the proxy when the fleet has one (`openTunnel` then reaches the
    /// manager through it).
    mutating func newConnection(_ plan: FleetPlan, manager: Int, https: Bool) -> ConnectionCursor {
        let port = nextPort
        nextPort = nextPort >= 65_000 ? 49_152 : nextPort + 1
        let c = plan.clients[client]
        let proxy = plan.configuration.proxy
        return ConnectionCursor(
            ends: ConnectionEnds(client: c.address, server: proxy?.address ?? plan.managers[manager],
                                 clientPort: port, serverPort: proxy?.port ?? (https ? plan.httpsPort : plan.httpPort)),
            clientNext: UInt32(truncatingIfNeeded: random.next()),
            serverNext: UInt32(truncatingIfNeeded: random.next()),
            clientIPID: UInt16(truncatingIfNeeded: random.next()),
            serverIPID: UInt16(truncatingIfNeeded: random.next()))
    }

    private mutating func salt() -> UInt64 { random.next() }

    /// `address:port` of a manager, as a request to a proxy names it.
    private func managerText(_ plan: FleetPlan, manager: Int, https: Bool) -> String {
        let a = plan.managers[manager]
        let port = https ? plan.httpsPort : plan.httpPort
        return "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF):\(port)"
    }

    /// Through a proxy: `CONNECT manager:port`, answered `200 Connection established`, on the connection
    /// just opened. Nothing without a proxy (no bytes, no random draws, so the other files stay the same).
    /// Only for HTTPS: plain HTTP goes to the proxy in absolute form instead (`httpExchanges`).
    private func openTunnel(_ b: inout ConversationBuilder, plan: FleetPlan, manager: Int, https: Bool) {
        guard plan.configuration.proxy != nil else { return }
        let target = managerText(plan, manager: manager, https: https)
        let request = Array("CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\nUser-Agent: ".utf8) + plan.userAgent
            + Array("\r\n\r\n".utf8)
        b.phase.up += request
        b.send(fromClient: true, length: request.count)
        b.wait(WireTiming.serverThink)
        let response = Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8)
        b.phase.down += response
        b.send(fromClient: false, length: response.count)
        b.wait(WireTiming.clientThink)
    }

    // MARK: - Pull check-ins

    /// Plans the pull check-in `ci` into `phase`.
    mutating func pullCheckIn(_ ci: PlannedCheckIn, plan: FleetPlan, names: ManagerNames, phase: Phase) {
        let me = plan.clients[client]
        let https = me.transport == .https
        var first = newConnection(plan, manager: me.manager, https: https)
        var b = ConversationBuilder(phase: phase, time: ci.time, connection: first)
        if ci.fault == .failover {
            b.refuse()
            b.wait(1_000_000_000)
            first = newConnection(plan, manager: ci.manager, https: https)
            b.switchTo(first)
        } else if ci.fault == .connectTimeout {
            b.unansweredConnect(retries: FleetPlan.unansweredSynRetries)
            b.time = ci.time + FleetPlan.connectTimeoutMoveOn
            first = newConnection(plan, manager: ci.manager, https: https)
            b.switchTo(first)
        }
        b.open()
        b.wait(WireTiming.clientThink)
        if ci.fault == .noAnswer || ci.fault == .tlsHandshakeFailed {
            failedCheckIn(&b, ci, plan: plan, names: names)
            return
        }
        if https {
            openTunnel(&b, plan: plan, manager: ci.manager, https: true)
            let version: UInt16 = me.oldTLS ? 0x0301 : plan.tlsVersion
            tlsHandshake(&b, version: version, serverName: names.serverName(ci.manager))
            tlsExchanges(&b, version: version, full: ci.full, oversize: ci.fault == .oversizeUpload, plan: plan)
            let n = version >= 0x0304 ? TLS13Messages.closeNotify(salt: salt(), into: &phase.up)
                : TLSMessages.closeNotify(version: version, salt: salt(), into: &phase.up)
            b.send(fromClient: true, length: n)
        } else {
            // Through a proxy, plain HTTP names the manager in each request (absolute form), with no CONNECT.
            let absolute = plan.configuration.proxy == nil
                ? [] : Array("http://\(managerText(plan, manager: ci.manager, https: false))".utf8)
            httpExchanges(&b, ci, host: names.host(ci.manager, port: plan.httpPort), absolute: absolute, plan: plan)
        }
        b.wait(WireTiming.clientThink)
        b.close()
    }

    /// The check-in of the no-answer or tls-handshake-failed fault, on the connection just opened: the index
    /// request (HTTP) or its first application data (HTTPS) sent `FleetPlan.noAnswerRequestDelay` after the
    /// check-in's start, or a ClientHello answered by a fatal alert; then the manager closes the connection.
    private mutating func failedCheckIn(_ b: inout ConversationBuilder, _ ci: PlannedCheckIn, plan: FleetPlan,
                                        names: ManagerNames) {
        let https = plan.clients[client].transport == .https
        if https { openTunnel(&b, plan: plan, manager: ci.manager, https: true) }
        if ci.fault == .tlsHandshakeFailed {
            let hello = plan.tlsVersion >= 0x0304
                ? TLS13Messages.clientHello(serverName: names.serverName(ci.manager), random: &random,
                                            into: &b.phase.up)
                : TLSMessages.clientHello(version: plan.tlsVersion, serverName: names.serverName(ci.manager),
                                          random: &random, into: &b.phase.up)
            b.send(fromClient: true, length: hello)
            b.wait(WireTiming.serverThink)
            let alert = TLSMessages.fatalAlert(handshakeFailureInto: &b.phase.down)
            b.send(fromClient: false, length: alert)
        } else {
            if https { tlsHandshake(&b, version: plan.tlsVersion, serverName: names.serverName(ci.manager)) }
            b.time = max(b.time, ci.time + FleetPlan.noAnswerRequestDelay)
            let sent: Int
            if https {
                sent = TLSMessages.applicationData(total: random.int(450...700), version: min(plan.tlsVersion, 0x0303),
                                                   salt: salt(), into: &b.phase.up)
            } else {
                serial &+= 1
                let absolute = plan.configuration.proxy == nil
                    ? [] : Array("http://\(managerText(plan, manager: ci.manager, https: false))".utf8)
                sent = HTTPMessages.request(.get, token: UInt64(plan.clients[client].address) << 32 | serial,
                                            host: names.host(ci.manager, port: plan.httpPort), bodyLength: 0, salt: 0,
                                            into: &b.phase.up, absolute: absolute, path: plan.secarsPath,
                                            userAgent: plan.userAgent)
            }
            b.send(fromClient: true, length: sent)
            b.wait(WireTiming.serverThink)
        }
        b.close(byServer: true)
    }

    private mutating func idleTotal(_ plan: FleetPlan) -> Int { random.int(plan.sizes.idle) }

    private mutating func httpExchanges(_ b: inout ConversationBuilder, _ ci: PlannedCheckIn, host: [UInt8],
                                        absolute: [UInt8], plan: FleetPlan) {
        serial &+= 1
        let token = UInt64(plan.clients[client].address) << 32 | serial
        func exchange(_ b: inout ConversationBuilder, _ m: HTTPMessages.Method, up: Int, down: Int,
                      status: Int, actor: inout ClientActor) {
            let r = HTTPMessages.request(m, token: token &+ UInt64(b.phase.packets.count), host: host,
                                         bodyLength: up, salt: actor.salt(), into: &b.phase.up, absolute: absolute,
                                         path: plan.secarsPath, userAgent: plan.userAgent)
            b.send(fromClient: true, length: r)
            b.wait(WireTiming.serverThink)
            let s = HTTPMessages.response(status: status, bodyLength: down, salt: actor.salt(), into: &b.phase.down)
            b.send(fromClient: false, length: s)
            b.wait(WireTiming.clientThink)
        }
        // Step 3: the index check, sized so the whole idle check-in lands in the idle range.
        let status = ci.fault == .http503 ? 503 : ci.fault == .http400 ? 400 : 200
        let total = idleTotal(plan)
        let r = HTTPMessages.request(.get, token: token, host: host, bodyLength: 0, salt: 0, into: &b.phase.up,
                                     absolute: absolute, path: plan.secarsPath, userAgent: plan.userAgent)
        b.send(fromClient: true, length: r)
        b.wait(WireTiming.serverThink)
        let body = max(16, total - r - HTTPMessages.responseHeadLength(status: status, bodyLength: total - r - 80))
        let s = HTTPMessages.response(status: status, bodyLength: body, salt: salt(), into: &b.phase.down)
        b.send(fromClient: false, length: s)
        b.wait(WireTiming.clientThink)
        guard ci.full else { return }
        if ci.fault == .oversizeUpload {
            exchange(&b, .post, up: plan.sizes.oversizeUpload, down: 32, status: 200, actor: &self)
            return
        }
        exchange(&b, .get, up: 0, down: random.int(plan.sizes.download), status: 200, actor: &self)
        exchange(&b, .post, up: random.int(plan.sizes.logUpload), down: 32, status: 200, actor: &self)
        exchange(&b, .post, up: random.int(plan.sizes.sensorUpload), down: 32, status: 200, actor: &self)
    }

    // MARK: - TLS

    private mutating func tlsHandshake(_ b: inout ConversationBuilder, version: UInt16, serverName: [UInt8]) {
        if version >= 0x0304 {
            tls13Handshake(&b, serverName: serverName)
            return
        }
        let hello = TLSMessages.clientHello(version: version, serverName: serverName, random: &random,
                                            into: &b.phase.up)
        b.send(fromClient: true, length: hello)
        b.wait(WireTiming.serverThink)
        let flight = TLSMessages.serverFlight(version: version, random: &random, into: &b.phase.down)
        b.send(fromClient: false, length: flight)
        b.wait(WireTiming.clientThink)
        let finish = TLSMessages.clientFinish(version: version, salt: salt(), into: &b.phase.up)
        b.send(fromClient: true, length: finish)
        b.wait(WireTiming.serverThink)
        let done = TLSMessages.serverFinish(version: version, salt: salt(), into: &b.phase.down)
        b.send(fromClient: false, length: done)
        b.wait(WireTiming.clientThink)
    }

    /// A TLS 1.3 handshake in three flights (RFC 8446 2, middlebox compatibility mode): ClientHello;
    /// ServerHello, ChangeCipherSpec and the encrypted rest of the server's flight; the client's
    /// ChangeCipherSpec and encrypted Finished. No session ticket follows: its record after the client's
    /// Finished would read as an answer with no request.
    ///
    /// It takes as many numbers from the client's generator as a 1.2 handshake does (14: the hellos' 12
    /// words and two salts), its own bytes coming from a generator seeded by the first, so that the
    /// check-ins that follow have the sizes a 1.2 fleet of the same seed has.
    private mutating func tls13Handshake(_ b: inout ConversationBuilder, serverName: [UInt8]) {
        var own = SimulationRandom(seed: random.next(), stream: 0x1_3000)
        for _ in 0..<13 { _ = random.next() }
        let hello = TLS13Messages.clientHello(serverName: serverName, random: &own, into: &b.phase.up)
        b.send(fromClient: true, length: hello)
        b.wait(WireTiming.serverThink)
        let flight = TLS13Messages.serverFlight(random: &own, into: &b.phase.down)
        b.send(fromClient: false, length: flight)
        b.wait(WireTiming.clientThink)
        let finish = TLS13Messages.clientFinish(salt: own.next(), into: &b.phase.up)
        b.send(fromClient: true, length: finish)
        b.wait(WireTiming.serverThink)
    }

    private mutating func tlsExchange(_ b: inout ConversationBuilder, version: UInt16, up: Int, down: Int) {
        // TLS 1.3 records carry the legacy version 0x0303 (RFC 8446 5.1).
        let version = min(version, 0x0303)
        let u = TLSMessages.applicationData(total: up, version: version, salt: salt(), into: &b.phase.up)
        b.send(fromClient: true, length: u)
        b.wait(WireTiming.serverThink)
        let d = TLSMessages.applicationData(total: down, version: version, salt: salt(), into: &b.phase.down)
        b.send(fromClient: false, length: d)
        b.wait(WireTiming.clientThink)
    }

    private mutating func tlsExchanges(_ b: inout ConversationBuilder, version: UInt16, full: Bool, oversize: Bool,
                                       plan: FleetPlan) {
        let total = idleTotal(plan)
        let up = random.int(450...700)
        tlsExchange(&b, version: version, up: up, down: total - up)
        guard full else { return }
        if oversize {
            tlsExchange(&b, version: version, up: plan.sizes.oversizeUpload, down: random.int(100...300))
            return
        }
        tlsExchange(&b, version: version, up: random.int(450...700), down: random.int(plan.sizes.download))
        tlsExchange(&b, version: version, up: random.int(plan.sizes.logUpload), down: random.int(100...300))
        tlsExchange(&b, version: version, up: random.int(plan.sizes.sensorUpload), down: random.int(100...300))
    }

    // MARK: - Push

    /// Plans burst `ci` of the push connection (opening it first if needed).
    mutating func pushBurst(_ ci: PlannedCheckIn, plan: FleetPlan, names: ManagerNames, phase: Phase) {
        let me = plan.clients[client]
        let version: UInt16 = me.oldTLS ? 0x0301 : plan.tlsVersion
        var b: ConversationBuilder
        if let open = pushConnection {
            b = ConversationBuilder(phase: phase, time: ci.time, connection: open)
        } else {
            b = ConversationBuilder(phase: phase, time: ci.time, connection: newConnection(plan, manager: ci.manager,
                                                                                          https: true))
            b.open()
            b.wait(WireTiming.clientThink)
            openTunnel(&b, plan: plan, manager: ci.manager, https: true)
            tlsHandshake(&b, version: version, serverName: names.serverName(ci.manager))
        }
        let total = idleTotal(plan)
        let up = random.int(450...700)
        tlsExchange(&b, version: version, up: up, down: total - up)
        lastActivity = b.time
        guard ci.fault == .pushConnectionDropped else {
            pushConnection = b.connection
            return
        }
        // The manager drops the connection; the client opens a new one at its next burst.
        b.time = max(b.time, ci.time + FleetPlan.pushDropDelay)
        b.close(byServer: true)
        pushConnection = nil
    }

    /// Plans a keep-alive on the push connection at `time`.
    mutating func pushKeepAlive(at time: Int64, phase: Phase) {
        guard let open = pushConnection else { return }
        var b = ConversationBuilder(phase: phase, time: time, connection: open)
        b.keepAlive()
        pushConnection = b.connection
        lastActivity = b.time
    }
}

/// Per-manager bytes used in messages: the HTTP Host value and the TLS server name.
struct ManagerNames: Sendable {
    private var hosts: [[UInt8]]
    private var names: [[UInt8]]

    init(plan: FleetPlan) {
        hosts = plan.managers.map { a in
            Array("\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF):\(plan.httpPort)".utf8)
        }
        names = plan.managers.indices.map { Array("sepm\($0 + 1).example.test".utf8) }
    }

    func host(_ manager: Int, port: UInt16) -> [UInt8] { hosts[manager] }
    func serverName(_ manager: Int) -> [UInt8] { names[manager] }
}
