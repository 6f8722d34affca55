import Core

extension ReferenceModel {
    /// SyLink.xml's pull interval when `merging(sylink:)` sets it aside for this model's pinned interval of
    /// another length: its seconds, and the pinned interval as messages write it; nil when it applies or agrees.
    public func pullIntervalSetAside(by sylink: SyLinkFile) -> (sylinkSeconds: Int, pinned: String)? {
        guard interval.pinned, let s = sylink.pullHeartbeatSeconds, Double(s) != interval.seconds else { return nil }
        return (s, formatSeconds(interval.seconds))
    }

    /// The model as a run with `--sylink` uses it, for `sepbeat model` to print.
    ///
    /// The pull interval from SyLink.xml applies unless `--interval` pinned one (tolerance and
    /// accelerated range derived as `withDerivedInterval` says), the push interval replaces the
    /// model's, and every server of the list is added with its priority and each port it names
    /// (no port: any management port), origin `sylink`, once per host and port (`add(_:)`). The Kcs
    /// value is never part of a `SyLinkFile`, so it cannot reach the output.
    public func merging(sylink: SyLinkFile) -> ReferenceModel {
        var m = self
        if !interval.pinned, let s = sylink.pullHeartbeatSeconds,
           let derived = try? withDerivedInterval(seconds: Double(s), pinned: false, source: "SyLink.xml") {
            m = derived
        }
        if let s = sylink.pushHeartbeatSeconds, s > 0, Double(s) <= Self.maxIntervalSeconds {
            m.push.heartbeatSeconds = Double(s)
        }
        m.add(sylink.servers.flatMap { server in
            let ports = [server.httpsPort, server.httpPort].compactMap { $0 }
            return ports.isEmpty ? [Server(host: server.address, priority: server.priority, origin: "sylink")]
                : ports.map { Server(host: server.address, port: $0, priority: server.priority, origin: "sylink") }
        })
        return m
    }
}
