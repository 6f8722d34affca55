import Core
import Foundation
import Heartbeat
import Reports
import Simulation

/// What `sepbeat simulate` collects from its options (kept out of the shared `Options` fields).
struct SimulateSettings: Sendable {
    var configuration = SimulationConfiguration()
    var formatGiven = false
}

/// `sepbeat simulate`: a synthetic fleet capture from the reference model, with its ground truth.
enum SimulateCommand {
    static let subcommand = SepbeatCommand.Subcommand(
        name: "simulate",
        synopsis: "sepbeat simulate -o FILE [--clients N] [--duration TIME] [--fault KIND[=N]]... [options]",
        summary: "Write a synthetic capture of SEP clients checking in, with a ground-truth JSON beside it.",
        details: """
            Writes FILE (pcap, or pcapng with --pcapng or a .pcapng name) and FILE.truth.json: per client its
            check-ins (time, transport, mode, idle/full) and the findings 'sepbeat analyze' should report.
            Times: seconds, or numbers with s, m, h or d (2h, 1h30m). The same options and --seed give the same bytes.
            Faults (each on its own client): \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")).
            Each needs a client that can carry it: http-503 and http-400 a plain-HTTP client, old-tls an HTTPS
            one, tls-handshake-failed an HTTPS pull client, push-connection-dropped a push client, the others a
            pull client; with too few such clients simulate stops with a usage error. early puts a check-in
            halfway between the accelerated range and the interval less its tolerance after the one before;
            connect-timeout leaves a first connect unanswered (SYNs at 0, 1 and 3 s), the client moving on to a
            new connect to the same manager at 7 s; no-answer sends the request 1 s into the check-in and the
            manager closes with no answer; tls-handshake-failed answers the ClientHello with a fatal alert and
            closes; push-connection-dropped has the manager close a push connection 5 s after a burst, the
            client opening a new one at its next. no-answer and tls-handshake-failed need the pull interval less
            the jitter to exceed checkIn.retryWindowSeconds plus 2 s (or the next check-in would be their retry);
            connect-timeout, like failover, is refused with --proxy.
            Push clients use HTTPS and keep one connection open. With --interval (10 s to one week), give analyze
            the same value. FILE is written through: a symbolic link is followed, a FIFO or device is written to;
            for a device (such as /dev/null) no truth file is written, and --split is refused.
            Limit: at most \(SimulationConfiguration.maxCheckIns) check-ins per run (clients x duration / the
            shorter of the pull and push intervals); larger runs are refused before anything is planned.
            Exit status: 0 success, 2 usage error, 4 the files could not be written, 5 out of memory.
            Stopped by SIGINT, SIGTERM or SIGHUP: 128 + signal, and the files being written are removed.
            """,
        specs: [
            CommonOptions.outputOption(help: "Write the capture to FILE and the ground truth to FILE.truth.json "
                + "(needed; a file name, not '-')."),
            CommonOptions.modelOption(help: "Generate traffic from this reference model (JSON): the fields it "
                + "gives replace the built-in model's (see 'sepbeat model')."),
            CommonOptions.intervalOption(help: "Pull interval of the simulated clients in seconds, 10 to 604800 "
                + "(one week; default: the model's)."),
            CommonOptions.quiet,
        ] + SimulateOptions.all,
        run: SimulateCommand.run
    )

    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        guard let path = options.outputPath else {
            throw UsageError("sepbeat simulate: -o FILE is needed (the capture to write)")
        }
        guard path != "-" else {
            throw UsageError("sepbeat simulate: -o - is not supported: a capture and its ground-truth file "
                + "cannot both go to standard output; give a file name")
        }
        guard options.captures.isEmpty else {
            throw UsageError("sepbeat simulate: unexpected operand '\(options.captures[0])' (give the output with -o)")
        }
        var c = options.simulate.configuration
        try refuseOverwritingModel(options, path: path, files: c.files)
        let model = try HeartbeatSetup.model(options, command: "simulate")
        if !options.simulate.formatGiven, path.lowercased().hasSuffix(".pcapng") { c.format = .pcapng }
        let started = Date()
        let result: SimulationResult
        do {
            let plan = try FleetPlan.make(c, model: model)
            result = try Simulator(plan: plan).write(to: path)
        } catch {
            if !error.isOutputFailure { throw UsageError("sepbeat simulate: \(error.message)") }
            throw CommandFailure(message: "sepbeat simulate: \(error.message)", status: ExitStatus.outputFailed)
        }
        let seconds = max(Date().timeIntervalSince(started), 1e-6)
        if !options.quiet { output.error(SepbeatCommand.oneLine(summary(result, seconds: seconds))) }
        return ExitStatus.ok
    }

    /// The line a run ends with: what it wrote, how fast, and where the truth went (none for a device).
    static func summary(_ result: SimulationResult, seconds: Double) -> String {
        let mb = Double(result.bytes) / 1e6
        let truth = result.truthPath.map { "truth: " + $0 }
            ?? "no truth file (the capture went to a device; give a file name to get one)"
        return "sepbeat simulate: wrote \(result.paths.joined(separator: ", ")): "
            + [formatCount(result.packets, "packet"), formatCount(Int(result.bytes), "byte"),
               formatCount(result.checkIns, "check-in"), formatCount(result.faults, "fault")].joined(separator: ", ")
            + " in \(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", mb / seconds)) MB/s); " + truth
    }

    /// Refuses (usage error, before anything is written) an output of the run, a capture file or the
    /// truth file, that is the `--model` file, by device and inode: a failed run would remove it.
    static func refuseOverwritingModel(_ options: Options, path: String, files: Int) throws {
        guard let model = options.modelPath, let target = InputRun.identity(model, stdin: -1) else { return }
        let outputs = (0..<max(1, files)).map { Simulator.filePath(path, index: $0, count: files) }
            + [path + ".truth.json"]
        for output in outputs where InputRun.identity(output, stdin: -1) == target {
            let same = output == model ? "" : " (the same file as \(model))"
            throw UsageError("sepbeat simulate: \(output) is the --model file\(same); the run would overwrite "
                + "it: give another output file")
        }
    }
}

/// The options only `simulate` takes.
enum SimulateOptions {
    static var all: [OptionSpec] {
        [clients, duration, jitter, fullShare, httpShare, pushShare, fault, seed, pcapng, managers, split, proxy,
         intervalChange]
    }

    static let clients = OptionSpec(
        names: ["--clients"], valueName: "N", help: "Number of clients (default 20)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.clients = try integer(v, "--clients", 1...1_000_000)
    }

    static let duration = OptionSpec(
        names: ["--duration"], valueName: "TIME", help: "Length of the capture, e.g. 7200, 2h, 1d (default 2h)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.durationSeconds = try time(v, "--duration")
    }

    static let jitter = OptionSpec(
        names: ["--jitter"], valueName: "SECONDS",
        help: "Each interval varies by up to this much either way (default 10, or half the model's tolerance "
            + "when less; at most half the tolerance)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.jitterSeconds = try time(v, "--jitter", allowZero: true)
    }

    static let fullShare = OptionSpec(
        names: ["--full-share"], valueName: "F", help: "Chance that a check-in is full, 0-1 (default 0.1)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.fullShare = try share(v, "--full-share")
    }

    static let httpShare = OptionSpec(
        names: ["--http-share"], valueName: "F", help: "Chance that a client is plain HTTP, 0-1 (default 0.3)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.httpShare = try share(v, "--http-share")
    }

    static let pushShare = OptionSpec(
        names: ["--push-share"], valueName: "F", help: "Chance that an HTTPS client is in push mode, 0-1 (default 0.1)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.pushShare = try share(v, "--push-share")
    }

    static let fault = OptionSpec(
        names: ["--fault"], valueName: "KIND[=N]",
        help: "Inject N (default 1) instances of a fault, each on its own client; may be repeated.",
        repeatable: true
    ) { (o: inout Options, v: String) throws(UsageError) in
        let parts = v.split(separator: "=", maxSplits: 1).map(String.init)
        guard let name = parts.first, let kind = FaultKind(rawValue: name.lowercased()) else {
            let known = FaultKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError("unknown fault '\(v)' (known: \(known))")
        }
        let n = parts.count > 1 ? try integer(parts[1], "--fault \(name)", 0...100_000) : 1
        o.simulate.configuration.faults[kind, default: 0] += n
    }

    static let seed = OptionSpec(
        names: ["--seed"], valueName: "N", help: "Seed of the generator (default 1): same seed, same files."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard let s = UInt64(v) else { throw UsageError("--seed takes a whole number 0-\(UInt64.max), got '\(v)'") }
        o.simulate.configuration.seed = s
    }

    static let pcapng = OptionSpec(
        names: ["--pcapng"], valueName: nil, help: "Write pcapng instead of pcap (also chosen by a .pcapng name)."
    ) { (o: inout Options, _: String) throws(UsageError) in
        o.simulate.configuration.format = .pcapng
        o.simulate.formatGiven = true
    }

    static let managers = OptionSpec(
        names: ["--managers"], valueName: "N", help: "Number of management servers, 1-250 (default 2)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.managers = try integer(v, "--managers", 1...250)
    }

    static let split = OptionSpec(
        names: ["--split"], valueName: "N",
        help: "Spread the clients over N files, 1 to 256 (-o x.pcap gives x-1.pcap ... x-N.pcap; the k-th "
            + "client, counted from 0, in x-(k mod N + 1).pcap; default 1)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.simulate.configuration.files = try integer(v, "--split", 1...256)
    }

    static let proxy = OptionSpec(
        names: ["--proxy"], valueName: "ADDRESS:PORT",
        help: "Every client goes through this explicit HTTP proxy (an IPv4 address and a port): an HTTPS "
            + "connection opens a CONNECT tunnel to its manager, answered 200, before the check-in; plain HTTP "
            + "sends its requests in absolute form (GET http://manager:port/...). Not a client's or a manager's "
            + "address, nor a loopback one."
    ) { (o: inout Options, v: String) throws(UsageError) in
        let parts = v.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0]))?.ipv4Value,
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(parts[1]), port > 0 else {
            throw UsageError("--proxy takes an IPv4 address and a port, e.g. 10.5.5.5:8080, got '\(v)'")
        }
        // No host has these: 0.0.0.0 (unspecified), 255.255.255.255 (broadcast), 224.0.0.0/4 (multicast).
        if address == 0 || address == 0xffff_ffff || address >> 28 == 0xe {
            let kind = address == 0 ? "the unspecified address" : address == 0xffff_ffff ? "the broadcast address"
                : "a multicast address"
            throw UsageError("--proxy \(parts[0]) is \(kind), no host's: give a unicast IPv4 address, "
                + "e.g. 10.5.5.5:8080")
        }
        // A host's own loopback (127.0.0.0/8) never goes on a wire between hosts, so no capture of a client's
        // connection to a proxy holds it.
        if address >> 24 == 127 {
            throw UsageError("--proxy \(parts[0]) is a loopback address (127.0.0.0/8), never on a wire between "
                + "hosts: give the proxy's address on the network, e.g. 10.5.5.5:8080")
        }
        o.simulate.configuration.proxy = SimulatedProxy(address: address, port: port)
    }

    static let intervalChange = OptionSpec(
        names: ["--interval-change"], valueName: "SPEC",
        help: "A heartbeat policy change, SPEC being AT:SECONDS[:SHARE]: from AT (a time after the start, e.g. 1h) "
            + "each client takes the interval SECONDS (push clients as their push heartbeat) at its next check-in; "
            + "only the first SHARE of the clients (above 0, at most 1; default 1) when given. May be repeated "
            + "(1h:60 then 2h:300 tries 60 s for an hour and reverts): in time order, each later than every client "
            + "can take the one before. analyze finds one change and its revert (or a change and another) per client, "
            + "not three changes or more.",
        repeatable: true
    ) { (o: inout Options, v: String) throws(UsageError) in
        let parts = v.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw UsageError("--interval-change takes AT:SECONDS or AT:SECONDS:SHARE, e.g. 1h:60, got '\(v)'")
        }
        let at = try time(parts[0], "--interval-change", allowZero: true)
        let seconds = try time(parts[1], "--interval-change")
        let fraction = parts.count == 3 ? try share(parts[2], "--interval-change") : 1
        o.simulate.configuration.intervalChanges.append(SimulatedIntervalChange(atSeconds: at, seconds: seconds,
                                                                                share: fraction))
    }

    private static func integer(_ v: String, _ name: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let n = Int(v), range.contains(n) else {
            throw UsageError("\(name) takes a whole number \(range.lowerBound)-\(range.upperBound), got '\(v)'")
        }
        return n
    }

    private static func share(_ v: String, _ name: String) throws(UsageError) -> Double {
        guard let d = Double(v), d >= 0, d <= 1 else { throw UsageError("\(name) takes a number 0-1, got '\(v)'") }
        return d
    }

    /// Seconds from `90`, `1.5`, `30m`, `2h`, `1d`, or parts with units joined (`1h30m`, `1d12h`): each part a
    /// number and its unit (s, m, h or d, any case; each unit once, larger first), a bare number only alone;
    /// within `range` when given, whose words (`rule`) the refusal then gives for every value refused, so that 0
    /// and one past the range are refused alike.
    static func time(_ v: String, _ name: String, allowZero: Bool = false,
                     range: (rule: String, bounds: ClosedRange<Double>)? = nil) throws(UsageError) -> Double {
        let rule = range?.rule ?? (allowZero ? "0 or more" : "above 0")
        let refusal = UsageError("\(name) takes a time \(rule): seconds, or numbers with s, m, h or d "
            + "(90, 30m, 2h, 1h30m; each unit once, larger first), got '\(v)'")
        guard let seconds = timeSeconds(v), seconds.isFinite, allowZero ? seconds >= 0 : seconds > 0,
              range?.bounds.contains(seconds) ?? true else {
            throw refusal
        }
        return seconds
    }

    /// The sum of `v`'s parts (see `time`), or nil when it is not made of them.
    static func timeSeconds(_ v: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        let text = v.lowercased()
        if let bare = Double(text), !text.contains(where: { $0.isLetter }) { return bare }
        var total = 0.0
        var number = ""
        // `1h1h` (two hours?) or `30m1h` is more likely a slip than a time meant: units come once, larger first.
        var lastUnit = Double.infinity
        for c in text {
            if let unit = units[c] {
                guard let d = Double(number), d.isFinite, d >= 0, unit < lastUnit else { return nil }
                lastUnit = unit
                total += d * unit
                number = ""
            } else if c.isASCII, c.isNumber || c == "." {
                number.append(c)
            } else {
                return nil
            }
        }
        return number.isEmpty && !text.isEmpty ? total : nil
    }
}
