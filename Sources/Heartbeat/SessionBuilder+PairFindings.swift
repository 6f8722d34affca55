import Core
import Records

// MARK: - Findings per client and manager

extension SessionBuilder {
    /// A finding raised once per client and manager, and the sessions it concerns (by their keys in
    /// `SessionReport.id` before the final numbering), first one first.
    struct PairFinding {
        var finding: Finding
        var keys: [Int]
    }

    /// Raises findings that concern a client-manager pair once, not per check-in: plain HTTP, TLS
    /// below the minimum, and managers missing from the configured list. Each is stamped with the first
    /// check-in it concerns, and a copy goes into the findings of every check-in it concerns.
    func pairFindings(
        client: IPAddress, sessions: inout [SessionReport], conns: [ConnectionRecord],
        managers: [IPAddress: ManagerInfo]
    ) -> [PairFinding] {
        // Only the TLS version is read, so only it is kept per connection id.
        var versionByID: [UInt64: SeenTLSVersion?] = [:]
        // By index, and the summary read once: the records are read, not copied.
        for i in conns.indices where versionByID[conns[i].id] == nil {
            versionByID[conns[i].id] = .some(seenVersion(conns[i].tls))
        }
        var all: [Endpoint: [Int]] = [:]
        var http: [Endpoint: [Int]] = [:]
        var oldTLS: [Endpoint: (version: UInt16, sessions: [Int], recordLayer: Int, reasons: Set<String>)] = [:]
        // By index: the check-ins are read, not copied.
        for i in sessions.indices where !sessions[i].failed {
            let server = Endpoint(address: sessions[i].server, port: sessions[i].serverPort)
            all[server, default: []].append(i)
            if sessions[i].transport == .http { http[server, default: []].append(i) }
            // The strongest source wins (record layer only < hello < record layer below a hello); the first
            // version below the minimum counts.
            var source = TLSVersionSource.unknown
            var below: SeenTLSVersion?
            var oneSided: String?
            sessions[i].withConnections { ids in
                for id in ids {
                    guard let known = versionByID[id], let seen = known else { continue }
                    if Self.strength(seen.source) > Self.strength(source) { source = seen.source }
                    if below == nil, seen.version < model.minimumTLSVersion { below = seen }
                    if oneSided == nil { oneSided = seen.implausibleSide }
                }
            }
            sessions[i].tlsVersionSource = source
            if source == .recordLayer { sessions[i].tlsImplausibleRecordSide = oneSided }
            if let seen = below {
                let have = oldTLS[server] ?? (seen.version, [], 0, [])
                var reasons = have.reasons
                if let reason = seen.recordLayerReason { reasons.insert(reason) }
                oldTLS[server] = (min(have.version, seen.version), have.sessions + [i],
                                  have.recordLayer + (seen.recordLayerReason == nil ? 0 : 1), reasons)
            }
        }
        var out: [PairFinding] = []
        func add(_ server: Endpoint, _ code: FindingCode, _ text: String, _ affected: [Int]) {
            guard let first = affected.first else { return }
            let finding = Finding(code: code, severity: model.severity(of: code), message: text, client: client,
                                  server: server, time: sessions[first].start)
            for i in affected {
                var copy = finding
                copy.time = sessions[i].start
                sessions[i].findings.append(copy)
            }
            out.append(PairFinding(finding: finding, keys: affected.map { sessions[$0].id }))
        }
        for (server, list) in all.sorted(by: { $0.key < $1.key }) {
            if let plain = http[server] {
                add(server, .plaintextHTTP,
                    "\(plain.count) of \(counted(list.count, "check-in")) to \(server) in plain HTTP", plain)
            }
            if let (v, affected, recordLayer, reasons) = oldTLS[server] {
                var text = "\(counted(affected.count, "check-in")) to \(server) used TLS "
                    + "\(TLSSummary.versionName(v)), below the minimum \(model.tls.minimumVersion)"
                // The reason when all record-layer versions share it (`no hello seen`, ...).
                let why = reasons.count == 1 ? reasons.first.map { ": " + $0 } ?? "" : ""
                if recordLayer == affected.count {
                    text += " (version from the record layer\(why))"
                } else if recordLayer > 0 {
                    text += " (for \(recordLayer) of them the version is from the record layer\(why))"
                }
                add(server, .tlsBelow(minimum: model.minimumTLSVersion), text, affected)
            }
            if directory.hasConfiguredManagers, let info = managers[server.address], !info.source.isConfigured {
                add(server, .unknownServer, "\(counted(list.count, "check-in")) to \(server), which is not in the "
                    + "configured server list (found by \(info.source.rawValue))", list)
            }
        }
        return out
    }

    /// A version code as four hex digits (`0x0304`).
    static func hex4(_ v: UInt16) -> String {
        let h = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// Which source a check-in of several connections reports: the record layer only, a hello, or the
    /// record layer below a hello, the strongest winning.
    static func strength(_ source: TLSVersionSource) -> Int {
        switch source {
        case .unknown: return 0
        case .recordLayer: return 1
        case .hello: return 2
        case .recordLayerBelowHello: return 3
        }
    }

    /// A connection's TLS version and where it came from.
    struct SeenTLSVersion {
        var version: UInt16
        var source: TLSVersionSource
        /// Why the record layer gave the version (`TLSJudgedVersion.Source.recordLayerReason`), nil for a
        /// hello's.
        var recordLayerReason: String?
        /// A version from the record layer only, read from one direction while the other's records carried
        /// a version no TLS stack writes there: that direction and version (`up 0x0304`).
        var implausibleSide: String?
    }

    /// The version the connection is judged by (`TLSSummary.judgedVersion`: the hellos', unless the
    /// record layer gives a lower one; with no hello, the record layer's); nil when none is known. A
    /// record-layer 0x0303 alone is "TLS 1.2 or later" (TLS 1.3 records carry it too): it passes a
    /// minimum up to 1.2 and settles nothing above that, so it is nil under a minimum of 1.3.
    func seenVersion(_ tls: TLSSummary?) -> SeenTLSVersion? {
        guard let judged = tls?.judgedVersion else { return nil }
        let source: TLSVersionSource
        switch judged.source {
        case .chosen, .offered: source = .hello
        case .recordLayer:
            if judged.version >= 0x0303 && model.minimumTLSVersion > 0x0303 { return nil }
            source = .recordLayer
        case .recordLayerBelowOffer, .recordLayerBelowChosen: source = .recordLayerBelowHello
        }
        var implausibleSide: String?
        if source == .recordLayer, let tls {
            if let v = tls.implausibleRecordVersionUp, tls.implausibleRecordVersionDown == nil {
                implausibleSide = "up " + Self.hex4(v)
            } else if let v = tls.implausibleRecordVersionDown, tls.implausibleRecordVersionUp == nil {
                implausibleSide = "down " + Self.hex4(v)
            }
        }
        return SeenTLSVersion(version: judged.version, source: source,
                              recordLayerReason: judged.source.recordLayerReason, implausibleSide: implausibleSide)
    }
}
