import Analysis
import Core
import Records

/// Text and JSON for the capture summary that heads every report.
public enum CaptureSummaryReport {
    public static func json(_ s: CaptureSummary) -> JSONValue {
        if let logs = s.logs { return LogSummaryReport.json(s, logs: logs) }
        var members: [(String, JSONValue)] = [
            ("path", .string(s.path)),
            ("format", .string(s.format)),
            ("reader", .string(s.reader)),
            ("packets", .int(s.packets)),
            ("capturedBytes", .integer(s.capturedBytes)),
            ("originalBytes", .integer(s.originalBytes)),
            ("start", .optionalTime(s.first)),
            ("end", .optionalTime(s.last)),
            ("durationSeconds", .number(s.duration)),
            ("linkTypes", .array(s.linkTypes.sorted { $0.key < $1.key }.map { link, n in
                .object([("linkType", .int(Int(link.rawValue))), ("name", .string(link.name)), ("packets", .int(n))])
            })),
            ("tcpPackets", .int(s.tcpPackets)),
            ("otherIPPackets", .object(s.otherIPProtocols.sorted { $0.key < $1.key }.map { p, n in
                (ipProtocolName(p), .int(n))
            })),
            ("nonIPPackets", .int(s.nonIP)),
            ("truncated", .int(s.truncated)),
            ("malformed", .int(s.malformedTotal)),
            ("malformedReasons", .object(s.malformed.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("unsupported", .int(s.unsupportedTotal)),
            ("unsupportedLinkTypes", .array(s.unsupportedLinkTypes.sorted { $0.key < $1.key }.map { link, n in
                .object([("linkType", .int(Int(link.rawValue))), ("name", .string(link.name)), ("packets", .int(n))])
            })),
            ("ipFragments", .int(s.fragments)),
            ("backwardTimestamps", .int(s.backwardTimestamps)),
            ("packetsAheadOfClock", .int(s.packetsAheadOfClock)),
            ("filteredOut", .int(s.filteredOut)),
            ("oversizedRecords", .int(s.oversizedRecords)),
            ("invalidTimestampFractions", .int(s.invalidTimestampFractions)),
            ("warnings", .array(s.warnings.map(JSONValue.string))),
        ]
        // Only when not 0, so captures without proxies (or far acknowledgements) keep their members as they were.
        if s.truncatedBeforeTCP > 0, let i = members.firstIndex(where: { $0.0 == "truncated" }) {
            members.insert(("truncatedUnread", .int(s.truncatedBeforeTCP)), at: i + 1)
        }
        if s.unusableTunnelTargets > 0 {
            members.insert(("unusableTunnelTargets", .int(s.unusableTunnelTargets)), at: members.count - 1)
        }
        if s.keepAliveProbes > 0 {
            members.insert(("keepAliveProbes", .int(s.keepAliveProbes)), at: members.count - 1)
        }
        if s.zeroIPLength > 0 {
            members.insert(("zeroIPLength", .int(s.zeroIPLength)), at: members.count - 1)
        }
        if s.ipLengthPastFrame > 0 {
            members.insert(("ipLengthPastFrame", .int(s.ipLengthPastFrame)), at: members.count - 1)
        }
        if s.fragmentsOverlapping > 0 {
            members.insert(("ipFragmentsOverlapping", .int(s.fragmentsOverlapping)), at: members.count - 1)
            members.insert(("ipFragmentsConflicting", .int(s.fragmentsConflicting)), at: members.count - 1)
        }
        if s.skippedRecords > 0 {
            members.insert(("skippedBlocks", .int(s.skippedRecords)), at: members.count - 1)
        }
        if s.duplicatePackets > 0 {
            members.insert(("duplicatePackets", .int(s.duplicatePackets)), at: members.count - 1)
        }
        if s.farAcknowledgements > 0 {
            members.insert(("farAcknowledgements", .int(s.farAcknowledgements)), at: members.count - 1)
        }
        if s.cutBytesSeenLate > 0 {
            members.insert(("cutBytesSeenLate", .integer(s.cutBytesSeenLate)), at: members.count - 1)
        }
        if s.nonDecimalTunnelTargets > 0 {
            members.insert(("nonDecimalTunnelTargets", .int(s.nonDecimalTunnelTargets)), at: members.count - 1)
        }
        if s.connectionsCapturedTwice > 0 || s.packetsCapturedTwice > 0 {
            members.insert(("connectionsCapturedTwice", .int(s.connectionsCapturedTwice)), at: members.count - 1)
            members.insert(("packetsCapturedTwice", .int(s.packetsCapturedTwice)), at: members.count - 1)
        }
        if s.packetsFilledFromCopy > 0 {
            members.insert(("packetsFilledFromCopy", .int(s.packetsFilledFromCopy)), at: members.count - 1)
        }
        if s.connectionsCapturedTwiceSameTags > 0 || s.packetsCapturedTwiceSameTags > 0 {
            members.insert(("connectionsCapturedTwiceSameTags", .int(s.connectionsCapturedTwiceSameTags)),
                           at: members.count - 1)
            members.insert(("packetsCapturedTwiceSameTags", .int(s.packetsCapturedTwiceSameTags)),
                           at: members.count - 1)
        }
        if s.connectionsTaggedPerDirection > 0 {
            members.insert(("connectionsTaggedPerDirection", .int(s.connectionsTaggedPerDirection)),
                           at: members.count - 1)
        }
        if s.connectionsTagsChanged > 0 {
            members.insert(("connectionsTagsChanged", .int(s.connectionsTagsChanged)), at: members.count - 1)
        }
        if s.connectionsEvicted > 0 {
            members.insert(("connectionsEvicted", .int(s.connectionsEvicted)), at: members.count - 1)
        }
        if s.simultaneousOpens > 0 {
            members.insert(("simultaneousOpens", .int(s.simultaneousOpens)), at: members.count - 1)
        }
        if s.lateServerSyns > 0 {
            members.insert(("lateServerSyns", .int(s.lateServerSyns)), at: members.count - 1)
        }
        if s.packetsBehindAtStart > 0 {
            members.insert(("packetsBehindAtStart", .int(s.packetsBehindAtStart)), at: members.count - 1)
        }
        if !s.clockSetBack.isEmpty {
            members.insert(("clockSetBack", .array(s.clockSetBack.map { b in
                .object([("before", .time(b.before)), ("after", .time(b.after)),
                         ("seconds", .number(Double(b.nanoseconds) / 1e9)), ("corrected", .bool(b.corrected))])
            })), at: members.count - 1)
        }
        // Only for a live capture: a file has no such counts.
        if let kernel = s.droppedByKernel {
            members.insert(("droppedByKernel", .int(kernel)), at: members.count - 1)
        }
        if let interface = s.droppedByInterface {
            members.insert(("droppedByInterface", .int(interface)), at: members.count - 1)
        }
        // Only for a followed input the first signal ended.
        if let by = s.endedBy {
            members.insert(("endedBy", .string(by)), at: members.count - 1)
        }
        // Only in a report so far, so that a reader of the -o file can tell it from the final report.
        if s.soFar {
            members.insert(("soFar", .bool(true)), at: members.count - 1)
        }
        if let saved = s.savedTo {
            members.insert(("savedTo", .string(saved)), at: members.count - 1)
            members.insert(("savedPackets", .int(s.savedPackets)), at: members.count - 1)
        }
        return .object(members)
    }

    /// `text` of each file, then `totalText` of them.
    public static func text(_ captures: [CaptureSummary]) -> String {
        captures.map(text).joined() + totalText(captures)
    }

    /// For more than one file, a line of their totals (packets, bytes, the span from the earliest packet of any
    /// file to the latest), so a reader of several files need not add them up; nothing for one file.
    public static func totalText(_ captures: [CaptureSummary]) -> String {
        guard captures.count > 1 else { return "" }
        let all = CaptureSummary.merged(captures)
        var out = "\(captures.count) files in all: \(formatCount(all.packets, "packet"))"
        out += ", \(formatBytes(all.capturedBytes))"
        if let f = all.first, let l = all.last {
            out += ", \(f.rfc3339(fractionDigits: 6)) to \(l.rfc3339(fractionDigits: 6))"
            out += " (\(formatSeconds(all.duration)))"
        }
        return out + "\n"
    }

    /// A few lines per file: packets, bytes, span, link types, and every odd count that is not zero.
    public static func text(_ s: CaptureSummary) -> String {
        if let logs = s.logs { return LogSummaryReport.text(s, logs: logs) }
        var out = "\(TextTable.sanitize(s.path)): \(formatCount(s.packets, "packet")), \(formatBytes(s.capturedBytes))"
        if let f = s.first, let l = s.last {
            out += ", \(f.rfc3339(fractionDigits: 6)) to \(l.rfc3339(fractionDigits: 6))"
            out += " (\(formatSeconds(s.duration)))"
        }
        out += "\n"
        let links = s.linkTypes.sorted { $0.key < $1.key }.map { "\($0.key.name) \($0.value)" }
        if !links.isEmpty { out += "  link types: " + links.joined(separator: ", ") + "\n" }
        var odd: [String] = ["TCP \(s.tcpPackets)"]
        if s.otherIPTotal > 0 {
            odd.append(s.otherIPProtocols.sorted { $0.key < $1.key }.map { "\(ipProtocolName($0.key)) \($0.value)" }
                .joined(separator: ", "))
        }
        if s.nonIP > 0 { odd.append("non-IP \(s.nonIP)") }
        if s.fragments > 0 { odd.append("IP fragments \(s.fragments)") }
        if s.zeroIPLength > 0 { odd.append("IP length 0 (segmentation offload) \(s.zeroIPLength)") }
        if s.keepAliveProbes > 0 { odd.append("TCP keep-alive probes \(s.keepAliveProbes)") }
        out += "  packets: " + odd.joined(separator: ", ") + "\n"
        var issues: [String] = []
        if s.truncated > 0 { issues.append("truncated \(s.truncated)") }
        if s.truncatedBeforeTCP > 0 { issues.append("cut inside their headers, not read \(s.truncatedBeforeTCP)") }
        if s.malformedTotal > 0 { issues.append("malformed \(s.malformedTotal)") }
        if s.unsupportedTotal > 0 {
            let names = s.unsupportedLinkTypes.sorted { $0.key < $1.key }.map { "\($0.key.name) \($0.value)" }
            issues.append("unsupported link type " + names.joined(separator: ", "))
        }
        if s.backwardTimestamps > 0 { issues.append("timestamps going backwards \(s.backwardTimestamps)") }
        if s.packetsAheadOfClock > 0 {
            issues.append("packets stamped ahead of the capture's clock \(s.packetsAheadOfClock)")
        }
        if s.packetsBehindAtStart > 0 {
            issues.append("packets at the start stamped far behind the rest \(s.packetsBehindAtStart)")
        }
        if s.ipLengthPastFrame > 0 {
            issues.append("IP length past the frame's end (the frame's bytes read) \(s.ipLengthPastFrame)")
        }
        if s.fragmentsOverlapping > 0 {
            let differing = s.fragmentsConflicting > 0 ? ", \(s.fragmentsConflicting) with other bytes" : ""
            issues.append("IP fragments overlapping others (the first bytes kept) "
                + "\(s.fragmentsOverlapping)\(differing)")
        }
        if s.oversizedRecords > 0 {
            issues.append("records holding more bytes than the packet's length or the snaplen \(s.oversizedRecords)")
        }
        if s.invalidTimestampFractions > 0 {
            issues.append("timestamp fractions of a second or more \(s.invalidTimestampFractions)")
        }
        if s.filteredOut > 0 { issues.append("filtered out \(s.filteredOut)") }
        if s.skippedRecords > 0 { issues.append("blocks skipped unread \(s.skippedRecords)") }
        if s.duplicatePackets > 0 { issues.append("exact duplicate packets \(s.duplicatePackets)") }
        if s.unusableTunnelTargets > 0 {
            issues.append("proxy tunnels to a target without a usable port \(s.unusableTunnelTargets)")
        }
        if s.farAcknowledgements > 0 {
            issues.append(
                "acknowledgements far past the bytes captured (not counted as a gap) \(s.farAcknowledgements)")
        }
        if s.cutBytesSeenLate > 0 {
            issues.append("bytes cut by the snap length seen whole too late \(s.cutBytesSeenLate)")
        }
        if s.nonDecimalTunnelTargets > 0 {
            issues.append("proxy targets not taken as an address (numeric, not dotted decimal) "
                + "\(s.nonDecimalTunnelTargets)")
        }
        if s.connectionsCapturedTwice > 0 || s.packetsCapturedTwice > 0 {
            issues.append("connections captured twice under other VLAN tags \(s.connectionsCapturedTwice) "
                + "(\(formatCount(s.packetsCapturedTwice, "packet")) left out)")
        }
        if s.packetsFilledFromCopy > 0 {
            issues.append("packets of the copies that filled holes \(s.packetsFilledFromCopy)")
        }
        if s.connectionsCapturedTwiceSameTags > 0 || s.packetsCapturedTwiceSameTags > 0 {
            issues.append("connections captured twice on the same VLAN tags \(s.connectionsCapturedTwiceSameTags) "
                + "(\(formatCount(s.packetsCapturedTwiceSameTags, "packet")) left out)")
        }
        if s.connectionsTaggedPerDirection > 0 {
            issues.append("connections with other VLAN tags each way \(s.connectionsTaggedPerDirection) "
                + "(the client's packets under one set, the server's under another: each joined into one)")
        }
        if s.connectionsTagsChanged > 0 {
            issues.append("tags changed within a connection \(s.connectionsTagsChanged) "
                + "(a direction's packets moved to other VLAN tags partway: each connection kept whole)")
        }
        if s.connectionsEvicted > 0 {
            issues.append("connections evicted \(s.connectionsEvicted) (more open at once than the connection table "
                + "holds: each handed out early, its later packets a new piece; raise --max-connections)")
        }
        if s.simultaneousOpens > 0 {
            issues.append("simultaneous opens \(s.simultaneousOpens) (both ends sent a SYN, then each a SYN-ACK: each "
                + "kept as one connection, its client the first SYN's sender)")
        }
        if s.lateServerSyns > 0 {
            issues.append("late server SYNs \(s.lateServerSyns) (the end that answered a handshake sent a SYN on the "
                + "open connection: left out, each connection kept with its roles)")
        }
        if !issues.isEmpty { out += "  odd: " + issues.joined(separator: ", ") + "\n" }
        if s.droppedByKernel != nil || s.droppedByInterface != nil {
            out += "  lost while capturing: \(s.droppedByKernel ?? 0) dropped by the kernel (buffer full), "
                + "\(s.droppedByInterface ?? 0) by the interface\n"
        }
        if let by = s.endedBy {
            out += "  input ended by \(by) after \(formatCount(s.packets, "packet")) (followed until then; the report "
                + "covers the packets read before it)\n"
        }
        if s.soFar {
            out += "  report so far: the input is still being read; the report at its end replaces this one\n"
        }
        if let saved = s.savedTo {
            out += "  packets saved to \(TextTable.sanitize(saved)): "
                + (s.saveFailed == nil ? "\(s.savedPackets)\n"
                    : "about \(s.savedPackets) (saving failed part-way, see the warning)\n")
        }
        for (reason, n) in s.malformed.sorted(by: { $0.key < $1.key }) {
            out += "    malformed: \(reason) (\(n))\n"
        }
        for b in s.clockSetBack {
            out += "  clock set back by about \(formatSeconds(Double(b.nanoseconds) / 1e9)) after "
                + "\(b.before.rfc3339(fractionDigits: 6)) (next packet stamped \(b.after.rfc3339(fractionDigits: 6)))"
                + (b.corrected ? "; later times read that much later\n" : "\n")
        }
        for w in s.warnings { out += "  warning: \(TextTable.sanitize(w))\n" }
        return out
    }

    public static func ipProtocolName(_ p: UInt8) -> String {
        switch p {
        case 1: return "ICMP"
        case 2: return "IGMP"
        case 6: return "TCP"
        case 17: return "UDP"
        case 47: return "GRE"
        case 50: return "ESP"
        case 58: return "ICMPv6"
        case 132: return "SCTP"
        default: return "IP proto \(p)"
        }
    }
}

/// `0.250 s`, `42.000 s`, `21 min 44 s`, `1 h 3 min`, `5 d 23 h 34 min`.
public func formatSeconds(_ s: Double) -> String {
    guard s.isFinite else { return "- s" }
    if s < 60 { return formatFixed(s, digits: 3) + " s" }
    guard s < 9e15 else { return "\(s) s" }
    let whole = Int64(s)
    if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
    if whole < 86400 { return "\(whole / 3600) h \(whole % 3600 / 60) min" }
    return "\(whole / 86400) d \(whole % 86400 / 3600) h \(whole % 3600 / 60) min"
}
