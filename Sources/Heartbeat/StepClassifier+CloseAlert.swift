import Core
import Records

// MARK: - A TLS 1.3 alert before the close

extension StepClassifier {
    /// The check-in's last exchange when it is a TLS 1.3 alert before the close rather than a request: in
    /// TLS 1.3 the close_notify travels encrypted, in an application-data record (24 bytes with AES-GCM), so
    /// the parser sees it as one more exchange after the last answer. It belongs to step 7, not to step 4.
    ///
    /// Taken as such: the last exchange of a closed check-in with at least one exchange before it, on a
    /// connection whose hellos gave TLS 1.3 (or a draft of it), with at most one record and
    /// `closeRecordMaxBytes` each way (a server's close_notify in answer may follow the client's) and
    /// nothing lost. TLS 1.2 and earlier send alerts as alert records, which make no exchange.
    ///
    /// A close the capture did not show whole (the client's FIN lost, or the capture ending after the alert)
    /// leaves the connection open at the end; its last exchange is still such an alert when it is one client
    /// record of at most `closeRecordMaxBytes` that got no answer: no request of a check-in is that small, so
    /// it is no step of its own (not step 7 either, the close not being seen).
    func closingAlert(_ d: CheckInDraft) -> Exchange? {
        guard d.exchanges.count >= 2, let e = d.exchanges.last, let l = d.connections.indices.last,
              (d.connections[l].tls?.helloVersion ?? 0) >= 0x0304,
              e.kind == .tls, e.missingBytes == 0, e.recordsUp <= 1, e.recordsDown <= 1,
              e.bytesUp <= Self.closeRecordMaxBytes, e.bytesDown <= Self.closeRecordMaxBytes
        else { return nil }
        if d.showsClose, !d.connections[l].state.contains(.openAtEnd) { return e }
        let unanswered = e.recordsUp == 1 && e.recordsDown == 0
        return unanswered && d.connections[l].exchanges.last == e ? e : nil
    }

    /// Step 7's evidence with the alert record before the close: `FIN from client, ...; 24-byte alert record
    /// before it (TLS 1.3 close_notify size)`.
    func closeText(_ state: ConnectionState, alert: Exchange) -> String {
        var text = closeText(state) + "; "
        if alert.bytesUp > 0 { text += "\(alert.bytesUp) bytes up" }
        if alert.bytesUp > 0 && alert.bytesDown > 0 { text += ", " }
        if alert.bytesDown > 0 { text += "\(alert.bytesDown) bytes down" }
        return text + " in an encrypted alert record before it (TLS 1.3 close_notify)"
    }
}
