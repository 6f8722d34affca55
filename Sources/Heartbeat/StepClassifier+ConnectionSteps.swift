import Core
import Records

// MARK: - Steps 1, 2, 7
//
// The steps a check-in's connections show: the server selected (1), the connection set up and its failed
// attempts judged (2), and its close (7).

extension StepClassifier {
    /// Step 1 for connection `i` of `cs` (read in place, not copied) after `attempts`.
    func selectServer(
        attempts: ArraySlice<ConnectionRecord>, _ cs: ArraySlice<ConnectionRecord>, _ i: Int, memo: inout TextMemo
    ) -> StepReport {
        let syn = cs[i].synTime ?? cs[i].start
        let server = cs[i].server
        var evidence: String
        // Through a proxy's tunnel the SYN went to the proxy (not remembered per server: it depends on the proxy).
        let proxy = cs[i].tunnel?.proxy
        if attempts.isEmpty, proxy == nil, let known = memo.serverSelected[server] {
            evidence = known
        } else {
            evidence = proxy.map { "SYN to proxy \($0) for \(server)" } ?? "SYN to \(server)"
            if !attempts.isEmpty { evidence = attemptText(attempts, followed: true) + ", then " + evidence }
            if let m = directory.configuredMatch(server), let p = m.priority {
                evidence += " (priority \(p))"
            }
            evidence = memo.shared(evidence)
            if attempts.isEmpty, proxy == nil { memo.serverSelected[server] = evidence }
        }
        let start = attempts.first.map { $0.synTime ?? $0.start } ?? syn
        return StepReport(step: 1, start: start, end: syn, bytesUp: 0, bytesDown: 0,
                          confidence: confidence(1, tls: isTLS(cs, i)), evidence: evidence)
    }

    /// Step 2 for connection `i` of `cs` (read in place, not copied).
    func connectStep(
        _ cs: ArraySlice<ConnectionRecord>, _ i: Int, syn: Timestamp, memo: inout TextMemo
    ) -> StepReport {
        let tls = isTLS(cs, i)
        let firstExchange = cs[i].exchanges.indices.first.map { cs[i].exchanges[$0].start }
        var evidence = memo.takeBuffer(2)
        evidence.add("TCP handshake")
        let tunnel = cs[i].tunnel  // read once: each read copies the tunnel out of its box
        if let proxy = tunnel?.proxy {
            evidence.add(" with proxy ")
            evidence.add(proxy.description)
        }
        if let synAck = cs[i].synAckTime {
            evidence.add(", SYN-ACK after ")
            formatRoundTrip(synAck.seconds(since: syn), into: &evidence)
        }
        if cs[i].synCount > 1 {
            evidence.add(", ")
            evidence.add(cs[i].synCount)
            evidence.add(" SYNs")
        }
        var up: Int64 = 0
        var down: Int64 = 0
        var end = cs[i].synAckTime ?? firstExchange ?? syn
        if let tunnel, tunnel.proxy != nil {
            // The CONNECT exchanges set the connection up: their bytes are this step's.
            for (n, e) in tunnel.setUp.enumerated() {
                evidence.add(n == 0 ? ", " : ", then ")
                evidence.add(e.http?.method ?? "request")
                evidence.add(" ")
                evidence.add(e.http?.target ?? "")
                evidence.add(" → ")
                evidence.add(e.http?.status.map(String.init) ?? "no reply")
                up = Saturating.add(up, e.bytesUp)
                down = Saturating.add(down, e.bytesDown)
                end = max(end, e.end)
            }
            if tunnel.kind == .forward { evidence.add(", requests in absolute form for the proxy to forward") }
        }
        if tls {
            // By index: the exchanges are read, not copied.
            // Each stream byte once: bytes on the wire less those repeated (retransmissions, duplicates).
            let streamUp = Saturating.subtract(cs[i].bytesUp, cs[i].anomaliesUp.repeatedBytes)
            let streamDown = Saturating.subtract(cs[i].bytesDown, cs[i].anomaliesDown.repeatedBytes)
            let takenUp = cs[i].exchanges.indices.reduce(0) { Saturating.add($0, cs[i].exchanges[$1].bytesUp) }
            let takenDown = cs[i].exchanges.indices.reduce(0) { Saturating.add($0, cs[i].exchanges[$1].bytesDown) }
            up = max(0, Saturating.subtract(streamUp, takenUp))
            down = max(0, Saturating.subtract(streamDown, takenDown))
            end = firstExchange ?? cs[i].closeTime ?? cs[i].end
            let summary = cs[i].tls  // read once: each read copies the summary out of its box
            evidence.add(", TLS ")
            if let judged = summary?.judgedVersion {
                let v = judged.version
                if let reason = judged.source.recordLayerReason {
                    // TLS 1.3 records carry 0x0303 too: the record layer tells "1.2 or later", no more.
                    if v >= 0x0303 { evidence.add("1.2 or later") } else { evidence.add(TLSSummary.versionName(v)) }
                    evidence.add(" from the record layer (")
                    evidence.add(reason)
                    evidence.add(")")
                } else {
                    evidence.add(TLSSummary.versionName(v))
                    evidence.add(" handshake")
                }
            } else {
                evidence.add("version unknown handshake")
            }
            if let sni = summary?.serverName, !sni.isEmpty {
                evidence.add(" (SNI ")
                evidence.add(sni)
                evidence.add(")")
            }
            evidence.add("; bytes outside application data")
        }
        return StepReport(step: 2, start: syn, end: max(end, syn), bytesUp: up, bytesDown: down,
                          confidence: confidence(2, tls: tls), evidence: memo.text(of: evidence, returning: 2))
    }

    func closeText(_ s: ConnectionState) -> String {
        var n = 0
        for (i, flag) in Self.closeFlags.enumerated() where s.contains(flag) { n |= 1 << i }
        return Self.closeTexts[n]
    }

    /// The FIN and RST flags `closeText` names, in the order it names them.
    private static let closeFlags: [ConnectionState] = [.finFromClient, .finFromServer, .rstFromClient, .rstFromServer]

    /// `closeText` for each combination of `closeFlags` (bit i set for flag i), made once: the texts
    /// of all check-ins then share 16 strings.
    private static let closeTexts: [String] = (0..<16).map { n in
        let names = ["FIN from client", "FIN from server", "RST from client", "RST from server"]
        let parts = names.indices.filter { n & (1 << $0) != 0 }.map { names[$0] }
        return parts.isEmpty ? "connection ended" : parts.joined(separator: ", ")
    }

    /// `followed`: a connection was set up after the last attempt.
    func attemptText(_ attempts: ArraySlice<ConnectionRecord>, followed: Bool) -> String {
        var failed: [String] = []
        var pending: String?
        for i in attempts.indices {
            let a = attempts[i]
            if a.handshake == .refused {
                failed.append("\(named(a.server)) refused" + proxyRefusal(a))
            } else if isPending(a, followed: i + 1 < attempts.endIndex || followed), let end = captureEnd {
                let syn = a.synTime ?? a.start
                pending = "connect to \(named(a.server)) unanswered when the capture ended "
                    + "(\(counted(a.synCount, "SYN")), "
                    + "\(formatSeconds(end.seconds(since: syn))) s after the first; not judged before the "
                    + "\(formatSeconds(model.connect.timeoutSeconds)) s timeout)"
            } else {
                failed.append("\(named(a.server)) unanswered")
            }
        }
        let text = failed.isEmpty ? "" : "\(counted(failed.count, "failed connect")): " + failed.joined(separator: ", ")
        guard let pending else { return text }
        return text.isEmpty ? pending : text + ", then " + pending
    }

    /// For a connect a proxy refused (a `CONNECT` answered with another status than 2xx): ` by proxy
    /// 10.5.5.5:8080 (CONNECT → 407 Proxy Authentication Required)`; empty for another connect.
    private func proxyRefusal(_ a: ConnectionRecord) -> String {
        guard let tunnel = a.tunnel, tunnel.kind == .refused, let proxy = tunnel.proxy else { return "" }
        let http = tunnel.setUp.last?.http
        var answer = http?.status.map(String.init) ?? "-"
        if let reason = http?.reason, !reason.isEmpty { answer += " " + reason }
        return " by proxy \(proxy) (CONNECT → \(answer))"
    }

    /// A manager endpoint with its configured priority, when one is known.
    func named(_ server: Endpoint) -> String {
        guard let p = directory.configuredMatch(server)?.priority else { return server.description }
        return "\(server) (priority \(p))"
    }

    /// An unanswered connect that is the last of its check-in (not `followed` by another connect) and whose
    /// first SYN came no more than the connect timeout before the capture's end: it may still have been
    /// answered, so it is not judged ("unanswered when the capture ended").
    func isPending(_ a: ConnectionRecord, followed: Bool) -> Bool {
        guard a.handshake == .unanswered, !followed, let end = captureEnd else { return false }
        return end.nanoseconds(since: a.synTime ?? a.start) <= Nanos.from(seconds: model.connect.timeoutSeconds)
    }

    /// Raises `connect-failed` for a refused connect and `connect-timeout` for an unanswered one.
    ///
    /// An unanswered connect is judged when the client moved on to `next` (another connect of the same
    /// check-in: its own timeout ran out), or when the capture went on for longer than the model's connect
    /// timeout after the first SYN. Nearer the capture's end the SYN may still have been answered
    /// (`isPending`), and nothing is raised.
    func judgeAttempt(
        _ a: ConnectionRecord, next: ConnectionRecord?, _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        let syn = a.synTime ?? a.start
        if a.handshake == .refused, let tunnel = a.tunnel, tunnel.kind == .refused {
            // A proxy asking for credentials, then a new connection with them to the same target: its
            // authentication, not a failure (shown in step 1).
            if let next, next.server == a.server, tunnel.setUp.last?.http?.status == 407 { return }
            add(.connectFailed, "connect to \(named(a.server)) refused\(proxyRefusal(a)): no tunnel", syn)
            return
        }
        if a.handshake == .refused {
            add(.connectFailed, "connect to \(named(a.server)) refused (SYN answered by RST)", syn)
            return
        }
        if let next {
            let movedOn = next.synTime ?? next.start
            add(.connectTimeout, "connect to \(named(a.server)) unanswered for "
                + "\(formatSeconds(movedOn.seconds(since: syn))) s (\(counted(a.synCount, "SYN"))) until the client "
                + "moved on to \(next.server)", syn)
            return
        }
        if isPending(a, followed: false) { return }
        add(.connectTimeout, "connect to \(named(a.server)) unanswered (\(counted(a.synCount, "SYN"))); the client "
            + "gives up after \(formatSeconds(model.connect.timeoutSeconds)) s", syn)
    }
}
