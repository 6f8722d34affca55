import Core

extension ReferenceModel {
    /// Largest byte count or record count a model may give: 2^40 (1 TiB), far beyond any check-in.
    public static let maxCount: Int64 = 1 << 40

    /// Checks every value against its allowed range.
    ///
    /// - Parameter file: names the source in the error (`model.json`, `--interval`).
    /// - Throws: `ModelError` for the first field out of range.
    public func validate(file: String) throws(ModelError) {
        func fail(_ field: String, _ problem: String) -> ModelError {
            ModelError(file: file, field: field, problem: problem)
        }
        // A value as the message shows it: as given when the usual rounding would make it 0 (1e-300 is not 0).
        // The value refused as it was given: a shorter form that reads as another number (604800.0000001
        // shown as 604800) would look valid.
        func given(_ v: Double) -> String {
            let short = formatSeconds(v)
            return Double(short) == v ? short : "\(v)"
        }
        // Every time in the model is seconds, at most one week, so that none overflows in nanoseconds.
        let most = Self.maxIntervalSeconds
        func atMost(_ v: Double, _ field: String) throws(ModelError) {
            guard v <= most else {
                throw fail(field, "must be at most \(formatSeconds(most)) seconds (one week), got \(given(v))")
            }
        }
        func positive(_ v: Double, _ field: String) throws(ModelError) {
            guard v.isFinite, v > 0 else { throw fail(field, "must be a positive number, got \(given(v))") }
            try atMost(v, field)
        }
        func nonNegative(_ v: Double, _ field: String) throws(ModelError) {
            guard v.isFinite, v >= 0 else {
                throw fail(field, "must be zero or a positive number, got \(given(v))")
            }
            try atMost(v, field)
        }
        func positiveBytes(_ v: Int64, _ field: String) throws(ModelError) {
            guard v > 0 else { throw fail(field, "must be a positive number, got \(v)") }
            guard v <= Self.maxCount else { throw fail(field, "must be at most \(Self.maxCount), got \(v)") }
        }

        guard schema == "sepbeat-model/1" else {
            throw fail("schema", "must be \"sepbeat-model/1\", got \"\(schema)\"")
        }
        for (name, list) in [("https", ports.https), ("http", ports.http), ("gup", ports.gup)] {
            if let i = list.firstIndex(of: 0) {
                throw fail("ports.\(name)[\(i)]", "must be a port number 1-65535, got 0")
            }
        }
        // A port given twice says nothing more, and is most likely a typo for another port.
        for (name, list) in [("https", ports.https), ("http", ports.http), ("gup", ports.gup)] {
            if let (first, again) = Self.firstRepeat(in: list) {
                throw fail("ports.\(name)[\(again)]", "repeats \(list[again]), already ports.\(name)[\(first)]")
            }
        }
        guard !ports.https.isEmpty || !ports.http.isEmpty else {
            throw fail("ports", "must list at least one HTTPS or HTTP port")
        }
        // A port in both lists would be read as plain HTTP and as TLS at once: the model cannot mean both.
        if let i = ports.http.firstIndex(where: { ports.https.contains($0) }) {
            throw fail("ports.http[\(i)]", "must not also be in ports.https, got \(ports.http[i])")
        }
        guard http.secarsPath.hasPrefix("/") else {
            throw fail("http.secarsPath", "must start with \"/\", got \"\(http.secarsPath)\"")
        }
        // Not required for a match, but an empty value would match no client and is never what a site means.
        guard !http.userAgent.isEmpty else { throw fail("http.userAgent", "must not be empty") }
        for key in http.statusMeanings.keys.sorted() where Int(key).map({ !(100...599).contains($0) }) ?? true {
            throw fail("http.statusMeanings.\(key)", "must be keyed by an HTTP status code 100-599")
        }

        try positive(interval.seconds, "interval.seconds")
        guard interval.seconds >= Self.minIntervalSeconds else {
            throw fail("interval.seconds", "must be at least \(formatSeconds(Self.minIntervalSeconds)) seconds, "
                + "got \(given(interval.seconds))")
        }
        try nonNegative(interval.toleranceSeconds, "interval.toleranceSeconds")
        guard interval.toleranceSeconds < interval.seconds / 2 else {
            throw fail("interval.toleranceSeconds", "must be less than half of interval.seconds "
                + "(\(formatSeconds(interval.seconds))), got \(given(interval.toleranceSeconds))")
        }
        try nonNegative(interval.acceleratedMaxSeconds, "interval.acceleratedMaxSeconds")
        guard interval.acceleratedMaxSeconds < interval.seconds - interval.toleranceSeconds else {
            throw fail("interval.acceleratedMaxSeconds", "must be below interval.seconds - interval.toleranceSeconds "
                + "(\(formatSeconds(interval.seconds - interval.toleranceSeconds))), "
                + "got \(given(interval.acceleratedMaxSeconds))")
        }
        try positive(interval.acceleratedRunMaxSeconds, "interval.acceleratedRunMaxSeconds")
        guard interval.acceleratedRunMaxSeconds >= interval.acceleratedMaxSeconds else {
            throw fail("interval.acceleratedRunMaxSeconds", "must not be below interval.acceleratedMaxSeconds "
                + "(\(formatSeconds(interval.acceleratedMaxSeconds))), got \(given(interval.acceleratedRunMaxSeconds))")
        }
        guard interval.mismatchMinIntervals >= 1 else {
            throw fail("interval.mismatchMinIntervals", "must be at least 1, got \(interval.mismatchMinIntervals)")
        }
        guard interval.silentMinIntervals >= 1 else {
            throw fail("interval.silentMinIntervals", "must be at least 1, got \(interval.silentMinIntervals)")
        }
        try positive(connect.timeoutSeconds, "connect.timeoutSeconds")
        try nonNegative(checkIn.attemptWindowSeconds, "checkIn.attemptWindowSeconds")
        try nonNegative(checkIn.joinGapSeconds, "checkIn.joinGapSeconds")
        try positive(checkIn.joinMaxSeconds, "checkIn.joinMaxSeconds")
        try nonNegative(checkIn.retryWindowSeconds, "checkIn.retryWindowSeconds")
        guard checkIn.inferPeriodicMinIntervals >= 1 else {
            throw fail("checkIn.inferPeriodicMinIntervals",
                       "must be at least 1, got \(checkIn.inferPeriodicMinIntervals)")
        }
        try positive(push.minOpenSeconds, "push.minOpenSeconds")
        try positive(push.burstGapSeconds, "push.burstGapSeconds")
        try positive(push.heartbeatSeconds, "push.heartbeatSeconds")
        // The push heartbeat is an interval too: the same floor as the pull interval.
        guard push.heartbeatSeconds >= Self.minIntervalSeconds else {
            throw fail("push.heartbeatSeconds", "must be at least \(formatSeconds(Self.minIntervalSeconds)) seconds, "
                + "got \(given(push.heartbeatSeconds))")
        }

        try positiveBytes(sizes.idleMinBytes, "sizes.idleMinBytes")
        try positiveBytes(sizes.idleMaxBytes, "sizes.idleMaxBytes")
        guard sizes.idleMinBytes <= sizes.idleMaxBytes else {
            throw fail("sizes.idleMaxBytes", "must not be below sizes.idleMinBytes (\(sizes.idleMinBytes)), "
                + "got \(sizes.idleMaxBytes)")
        }
        try positiveBytes(sizes.fullMaxBytes, "sizes.fullMaxBytes")
        try positiveBytes(sizes.logUploadMaxRecords, "sizes.logUploadMaxRecords")
        try positiveBytes(sizes.logRecordBytes, "sizes.logRecordBytes")
        guard sizes.uploadOverheadBytes >= 0, sizes.uploadOverheadBytes <= Self.maxCount else {
            throw fail("sizes.uploadOverheadBytes", "must be 0 to \(Self.maxCount), got \(sizes.uploadOverheadBytes)")
        }
        guard ["1.0", "1.1", "1.2", "1.3"].contains(tls.minimumVersion) else {
            throw fail("tls.minimumVersion", "must be one of 1.0, 1.1, 1.2, 1.3, got \"\(tls.minimumVersion)\"")
        }
        try positiveBytes(tls.uploadMinBytes, "tls.uploadMinBytes")

        try validateSteps(fail)
        for code in FindingCode.allCases where severities[code.rawValue] == nil {
            throw fail("severities.\(code.rawValue)", "is missing")
        }
        for (i, s) in servers.enumerated() {
            guard !s.host.isEmpty else { throw fail("servers[\(i)].host", "must not be empty") }
            // As in `ports`: 0 passed the check before decoding (Foundation reads a JSON 0 as a Bool there)
            // and was then taken as no port at all.
            if s.port == 0 { throw fail("servers[\(i)].port", "must be a port number 1-65535, got 0") }
            // Priorities count from 1, the first choice, as SyLink.xml's Priority1 does.
            if let p = s.priority, p < 1 {
                throw fail("servers[\(i)].priority", "must be 1 (first choice) or more, got \(p)")
            }
            // As SyLink.xml's Address: a bare host; a numeric form other than dotted decimal (`012.1.0.11`,
            // which resolvers read as octal, `0x0a.1.0.10`, `10.1.10`) would be a name that never matches.
            guard Self.isServerHost(s.host, bracketed: false) else {
                throw fail("servers[\(i)].host", "must be an IPv4 address, an IPv6 address or a host name (no "
                    + "scheme, port or brackets), got \"\(Self.shown(s.host))\"" + Self.numericHint(s.host))
            }
        }
        // The same manager twice, maybe with two priorities: which entry counts would not be known.
        if let (first, again) = Self.firstRepeat(in: servers.map(Self.serverKey)) {
            let port = servers[again].port.map { " port \($0)" } ?? ""
            throw fail("servers[\(again)]",
                       "repeats \(Self.shown(servers[again].host))\(port), already servers[\(first)]")
        }
    }

    /// What makes two `servers` entries the same manager: the address (an IPv4-mapped one as its IPv4 address) or
    /// the lower-cased host name, and the port (none: any management port).
    static func serverKey(_ s: Server) -> String {
        let host = mappedIPv4Text(s.host)
        return "\(IPAddress(host)?.description ?? host.lowercased()) \(s.port ?? 0)"
    }

    /// The indices of the first value of `list` that repeats an earlier one, and of that earlier one.
    static func firstRepeat<T: Hashable>(in list: [T]) -> (first: Int, again: Int)? {
        var seen: [T: Int] = [:]
        for (i, value) in list.enumerated() {
            if let first = seen[value] { return (first, i) }
            seen[value] = i
        }
        return nil
    }

    /// What a model's HTTP method may hold: the upper-case letters, digits and the punctuation methods use.
    private static let methodCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".unicodeScalars)

    private func validateSteps(_ fail: (String, String) -> ModelError) throws(ModelError) {
        guard steps.count == 7 else { throw fail("steps", "must list exactly 7 steps, got \(steps.count)") }
        for (i, rule) in steps.enumerated() {
            let field = "steps[\(i)]"
            guard rule.number == i + 1 else {
                throw fail(field + ".number", "must be \(i + 1) (steps in protocol order), got \(rule.number)")
            }
            guard rule.id == Self.stepIDs[i] else {
                throw fail(field + ".id", "must be \"\(Self.stepIDs[i])\", got \"\(rule.id)\"")
            }
            // Read by no rule but in this order, so a changed shape would be a setting that changes nothing.
            guard rule.tlsShape == Self.stepTLSShapes[i] else {
                throw fail(field + ".tlsShape", "must be \"\(Self.stepTLSShapes[i])\" (each step's shape is fixed, "
                    + "as its id is), got \"\(Self.shown(rule.tlsShape))\"")
            }
            // Methods are compared as sent, and HTTP methods are case-sensitive: `get` would never match.
            for (j, method) in rule.httpMethods.enumerated()
            where method.isEmpty || !method.unicodeScalars.allSatisfy({ Self.methodCharacters.contains($0) }) {
                throw fail(field + ".httpMethods[\(j)]", "must be an HTTP method as sent, in upper case (A-Z, 0-9, "
                    + "- _ . as in GET or POST), got \"\(Self.shown(method))\"")
            }
            if let (first, again) = Self.firstRepeat(in: rule.httpMethods) {
                throw fail(field + ".httpMethods[\(again)]", "repeats \"\(Self.shown(rule.httpMethods[again]))\", "
                    + "already \(field).httpMethods[\(first)]")
            }
            for (name, v) in [("httpConfidence", rule.httpConfidence), ("tlsConfidence", rule.tlsConfidence)]
            where !(v >= 0 && v <= 1) {
                throw fail(field + "." + name, "must be between 0 and 1, got \(formatSeconds(v))")
            }
        }
    }
}
