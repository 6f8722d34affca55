import Heartbeat
import Streams

/// How a subcommand prints its report.
public enum OutputFormat: String, CaseIterable, Sendable {
    case text
    case json
    /// One JSON object per line: a check-in (or a client with `--per client`).
    case jsonl
    /// RFC 4180 rows: check-ins (or clients with `--per client`).
    case csv
    /// One self-contained page with charts.
    case html

    /// The format that a report file's name ends in, in any case: `.txt`, `.json`, `.jsonl` or `.ndjson`,
    /// `.csv`, `.html` or `.htm`; nil for any other name (a name that is only a dot and a word, as
    /// `.json`, has no extension).
    init?(fileName: String) {
        let base = fileName.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return nil }
        switch base[base.index(after: dot)...].lowercased() {
        case "txt": self = .text
        case "json": self = .json
        case "jsonl", "ndjson": self = .jsonl
        case "csv": self = .csv
        case "html", "htm": self = .html
        default: return nil
        }
    }

    /// The file name extensions that name this format (`init(fileName:)`).
    var fileExtensions: [String] {
        switch self {
        case .text: ["txt"]
        case .json: ["json"]
        case .jsonl: ["jsonl", "ndjson"]
        case .csv: ["csv"]
        case .html: ["html", "htm"]
        }
    }
}

/// When text reports use ANSI colour (`--color`).
public enum ColorMode: String, CaseIterable, Sendable {
    /// When standard output is a terminal and `NO_COLOR` is not set.
    case auto
    /// Always, unless `NO_COLOR` is set.
    case always
    case never
}

/// Everything the command line can say, after parsing and validation.
///
/// Option names are shared by every subcommand that accepts them, and follow
/// tcpdump/tshark habits where those exist (`-r FILE`, `-f FILTER`).
public struct Options: Sendable {
    public var captures: [String] = []
    public var filter: String?
    public var format: OutputFormat = .text
    public var quiet = false
    public var help = false
    public var showHTTP = false
    public var showTLS = false
    public var modelPath: String?
    public var sylinkPath: String?
    public var intervalSeconds: Double?
    public var servers: [String] = []
    public var outputPath: String?
    public var color: ColorMode = .auto
    /// Rows of JSON Lines and CSV: `checkin` (default) or `client`.
    /// `checkin`, `client` or `check`; empty: the command's own rows (analyze: check-ins,
    /// audit: clients, validate: checks).
    public var per = ""
    /// Lowest severity that fails `analyze`, `audit` and `validate` (`error` or `warning`).
    public var failOn = "error"
    /// `--allow-unhealthy`: failing clients the audit's verdict allows.
    public var allowUnhealthy: FailingAllowance?
    /// Capture files read at the same time by analyze, audit and validate (`--jobs`); 1 reads them
    /// merged in time order on one thread.
    public var jobs = 1
    /// Whether `--jobs` was given (otherwise check-ins are built on `defaultBuildThreads`).
    public var jobsGiven = false
    /// Most connections the connection table tracks at once (`--max-connections`); past it the least
    /// recently active are evicted (`StreamLimits.maxConnections`).
    public var maxConnections = StreamLimits().maxConnections
    public var showVersion = false
    /// Settings of `sepbeat simulate`.
    var simulate = SimulateSettings()
    /// The network interface to capture from (`-i`), instead of capture files.
    public var interface: String?
    /// The folder of Zeek logs read instead of packets (`--zeek`).
    public var zeekDirectory: String?
    /// How a live capture runs and stops (`--duration`, `-c`, `-s`, `-p`).
    var live = LiveSettings()

    public init() {}
}

/// One option a subcommand accepts.
struct OptionSpec: Sendable {
    var names: [String]
    var valueName: String?
    var help: String
    /// Whether the option may be given more than once (each value adds to a list: `-r`, `--server`,
    /// `--fault`). Any other option that takes a value is refused when given twice, since a second
    /// value would silently replace the first.
    var repeatable = false
    /// What the refusal of a second value advises.
    var onRepeat = "give it once (a second value would replace the first)"
    var apply: @Sendable (inout Options, String) throws(UsageError) -> Void
}

/// Parses `arguments` (after the subcommand word) against `specs`.
///
/// Accepts `--name value`, `--name=value`, `-r value`, `-rvalue`, bare capture paths,
/// and `--` to end options. Short options that take no value may be bundled as tcpdump takes them
/// (`-qFjson` is `-q -F json`). Errors name the subcommand and the offending word.
func parseOptions(_ arguments: [String], specs: [OptionSpec], command: String) throws(UsageError) -> Options {
    var options = Options()
    var i = 0
    var onlyOperands = false
    /// The rest of a bundle of short options (`-Fjson` after `-q` in `-qFjson`), read next.
    var bundled: String?
    /// The single-valued options given so far (their names joined, e.g. `-F/--format`).
    var givenOptions: Set<String> = []
    func find(_ name: String) -> OptionSpec? { specs.first { $0.names.contains(name) } }
    while bundled != nil || i < arguments.count {
        let arg: String
        if let rest = bundled {
            arg = rest
            bundled = nil
        } else {
            arg = arguments[i]
            i += 1
        }
        if onlyOperands || arg == "-" || !arg.hasPrefix("-") {
            // No file has an empty name: said as a usage error, not as a file '' not found.
            guard !arg.isEmpty else { throw UsageError("a capture file name is empty ('' among the operands)") }
            options.captures.append(arg)
            continue
        }
        if arg == "--" {
            onlyOperands = true
            continue
        }
        var name = arg
        var inlineValue: String?
        if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
            name = String(arg[..<eq])
            inlineValue = String(arg[arg.index(after: eq)...])
        } else if !arg.hasPrefix("--"), arg.count > 2 {
            name = String(arg.prefix(2))
            inlineValue = String(arg.dropFirst(2))
        }
        // `-qv...` bundles the flag `-q` with the short option `-v...`; `--quiet=x` is a value.
        func bundleRest() throws(UsageError) {
            guard let v = inlineValue, !v.isEmpty else { return }
            guard !arg.hasPrefix("--"), let letter = v.first, letter.isASCII, letter.isLetter else {
                throw UsageError("sepbeat \(command): option '\(name)' takes no value")
            }
            bundled = "-" + v
        }
        if name == "-h" || name == "--help" {
            options.help = true
            try bundleRest()
            continue
        }
        if name == "-V" || name == "--version" {
            options.showVersion = true
            try bundleRest()
            continue
        }
        guard let spec = find(name) else {
            throw UsageError("sepbeat \(command): unknown option '\(arg)' (see 'sepbeat \(command) --help')")
        }
        if let valueName = spec.valueName {
            let value: String
            if let v = inlineValue {
                value = v
            } else if i < arguments.count {
                value = arguments[i]
                i += 1
            } else {
                throw UsageError("sepbeat \(command): option '\(name)' needs a value (\(valueName))")
            }
            let key = spec.names.joined(separator: "/")
            if !spec.repeatable, !givenOptions.insert(key).inserted {
                throw UsageError("sepbeat \(command): \(key) is given more than once; \(spec.onRepeat)")
            }
            try spec.apply(&options, value)
        } else {
            try bundleRest()
            try spec.apply(&options, "")
        }
    }
    // Without -F, an -o name ending in a format's extension (`-o report.html`) picks that format when the
    // command writes it; a format it does not write, or any other name, keeps the default.
    if let format = find("-F"), !givenOptions.contains(format.names.joined(separator: "/")),
       let path = options.outputPath, let named = OutputFormat(fileName: path) {
        try? format.apply(&options, named.rawValue)
    }
    return options
}

// MARK: - The options, shared across subcommands

enum CommonOptions {
    static let read = OptionSpec(
        names: ["-r", "--read"], valueName: "FILE",
        help: "Read a capture file (pcap or pcapng, plain or compressed by gzip, xz or bzip2; - for standard "
            + "input); may be repeated. Bare paths work too.", repeatable: true
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard !v.isEmpty else { throw UsageError("-r/--read needs a file name, got an empty value") }
        o.captures.append(v)
    }

    static let filter = OptionSpec(
        names: ["-f", "--filter"], valueName: "FILTER",
        help: "Keep only packets matching this BPF filter (libpcap syntax, as tshark -f, "
            + "or the expression after tcpdump's options).",
        onRepeat: "give one filter (join expressions with 'and')"
    ) { (o: inout Options, v: String) throws(UsageError) in
        o.filter = v
    }

    /// The formats of analyze, audit and validate.
    static let format = formats(OutputFormat.allCases)

    /// `-F FORMAT` accepting exactly `allowed`, whose help lists exactly those; `note` ends the help line.
    static func formats(_ allowed: [OutputFormat], note: String = "") -> OptionSpec {
        let names = allowed.map { $0 == .text ? "text (default)" : $0.rawValue }
        let list = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
            : names.joined()
        let plain = allowed.map(\.rawValue)
        let known = plain.count > 1 ? plain.dropLast().joined(separator: ", ") + " or " + (plain.last ?? "")
            : plain.joined()
        let extensions = allowed.flatMap(\.fileExtensions).map { "." + $0 }.joined(separator: ", ")
        return OptionSpec(
            names: ["-F", "--format"], valueName: "FORMAT",
            help: "Output format: \(list). Without -F, an -o FILE ending in \(extensions) (any case) is written "
                + "in that format, any other in text.\(note)"
        ) { (o: inout Options, v: String) throws(UsageError) in
            guard let f = OutputFormat(rawValue: v.lowercased()), allowed.contains(f) else {
                throw UsageError("--format takes \(known), got '\(v)'")
            }
            o.format = f
        }
    }

    static let quiet = OptionSpec(
        names: ["-q", "--quiet"], valueName: nil,
        help: "Print no progress or warnings on stderr (errors still go there)."
    ) { (o: inout Options, _: String) throws(UsageError) in o.quiet = true }

    static let output = outputOption(help: "Write the report to FILE instead of standard output.")

    /// `-o FILE` with a help line worded for the command.
    static func outputOption(help: String) -> OptionSpec {
        OptionSpec(names: ["-o", "--output"], valueName: "FILE", help: help) {
            (o: inout Options, v: String) throws(UsageError) in
            guard !v.isEmpty else { throw UsageError("-o/--output needs a file name, got an empty value") }
            guard v == "-" || !v.hasSuffix("/") else {
                throw UsageError("-o/--output needs a file name, got a folder ('\(v)' ends with /)")
            }
            o.outputPath = v
        }
    }

    static let model = modelOption(
        help: "Judge by this reference model (JSON): the fields it gives replace the built-in model's "
            + "(see 'sepbeat model').")

    /// `--model FILE` with a help line worded for the command.
    static func modelOption(help: String) -> OptionSpec {
        OptionSpec(names: ["--model"], valueName: "FILE", help: help) {
            (o: inout Options, v: String) throws(UsageError) in
            guard !v.isEmpty else { throw UsageError("--model needs a file name, got an empty value") }
            o.modelPath = v
        }
    }

    static let sylink = OptionSpec(
        names: ["--sylink"], valueName: "FILE",
        help: "Read managers, ports and communication settings from a client's SyLink.xml."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard !v.isEmpty else { throw UsageError("--sylink needs a file name, got an empty value") }
        o.sylinkPath = v
    }

    static let interval = intervalOption(
        help: "Expected heartbeat interval in seconds (overrides the model and SyLink.xml).")

    /// `--interval SECONDS` with a help line worded for the command.
    static func intervalOption(help: String) -> OptionSpec {
        OptionSpec(names: ["--interval"], valueName: "SECONDS", help: help, apply: parseInterval)
    }

    @Sendable static func parseInterval(_ o: inout Options, _ v: String) throws(UsageError) {
        // Decimal text only: Double(_:) would also take "0x10", "1e3", "inf" and "nan".
        let decimal = !v.isEmpty && v.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
            && v.filter { $0 == "." }.count <= 1 && v.contains { $0.isNumber }
        guard decimal, let d = Double(v), d >= ReferenceModel.minIntervalSeconds,
              d <= ReferenceModel.maxIntervalSeconds else {
            throw UsageError("--interval takes a decimal number of seconds from "
                + "\(Int(ReferenceModel.minIntervalSeconds)) to \(Int(ReferenceModel.maxIntervalSeconds)), got '\(v)'")
        }
        o.intervalSeconds = d
    }

    static let server = OptionSpec(
        names: ["--server"], valueName: "HOST[:PORT]",
        help: "A management server: an IPv4 address, an IPv6 address or a name, optionally with a port "
            + "(an IPv6 address with a port in brackets: [2001:db8::1]:443); may be repeated.",
        repeatable: true
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard !v.isEmpty else { throw UsageError("--server needs an address") }
        o.servers.append(v)
    }

    static let color = OptionSpec(
        names: ["--color"], valueName: "WHEN",
        help: "Colour text reports: auto (default: when stdout is a terminal), always or never. NO_COLOR disables it."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard let mode = ColorMode(rawValue: v.lowercased()) else {
            throw UsageError("--color takes auto, always or never, got '\(v)'")
        }
        o.color = mode
    }

    static let per = OptionSpec(
        names: ["--per"], valueName: "ROW",
        help: "Rows of jsonl and csv output: checkin (one per check-in; analyze's default), client (the "
            + "interval audit; audit's default) or check (validate's default; refused by analyze and audit). "
            + "Only jsonl and csv use it."
    ) { (o: inout Options, v: String) throws(UsageError) in
        let value = String(v.lowercased().filter { $0 != "-" })
        guard value == "checkin" || value == "client" || value == "check" else {
            throw UsageError("--per takes checkin, client or check, got '\(v)'")
        }
        o.per = value
    }

    static let failOn = OptionSpec(
        names: ["--fail-on"], valueName: "SEVERITY",
        help: "Exit 1 on a failure of this severity or worse: error (default) or warning."
    ) { (o: inout Options, v: String) throws(UsageError) in
        let value = v.lowercased()
        guard value == "error" || value == "warning" else {
            throw UsageError("--fail-on takes error or warning, got '\(v)'")
        }
        o.failOn = value
    }

    static let allowUnhealthy = OptionSpec(
        names: ["--allow-unhealthy"], valueName: "N|P%",
        help: "Pass the verdict (exit 0) with at most N unhealthy clients, or P percent of the clients judged "
            + "(rounded down); with --fail-on warning degraded clients count too. No client judged still fails. "
            + "For a daily check of a large fleet."
    ) { (o: inout Options, v: String) throws(UsageError) in
        let refusal = UsageError("--allow-unhealthy takes a number of clients (0 or more) or a percentage from 0 "
            + "to 100 (1.5%), got '\(v)'")
        if v.hasSuffix("%") {
            let number = v.dropLast()
            guard !number.contains(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }),
                  let p = Double(number), p >= 0, p <= 100 else { throw refusal }
            o.allowUnhealthy = .percent(p)
        } else {
            guard let n = decimalInteger(v), n >= 0 else { throw refusal }
            o.allowUnhealthy = .clients(n)
        }
    }

    static let jobs = OptionSpec(
        names: ["-j", "--jobs"], valueName: "N",
        help: "Read up to N capture files at the same time, one thread each, and build clients' check-ins "
            + "on N threads (default: files merged on one thread, check-ins built on two threads when there "
            + "are two cores; packets are always read ahead on a thread of their own). The report is the "
            + "same; files that share connections are read in order."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard let n = decimalInteger(v), n >= 1, n <= 256 else {
            throw UsageError("--jobs takes a whole number from 1 to 256, got '\(v)'")
        }
        o.jobs = n
        o.jobsGiven = true
    }

    /// The bounds of `--max-connections`. At least 64, so that the 1/64 of the table a full table hands
    /// out is one connection or more; at most 16,777,216, far above any fleet a manager serves (a bound
    /// that only catches typing errors: memory follows the connections open, not this number).
    static let maxConnectionsRange = 64...16_777_216

    static let maxConnections = OptionSpec(
        names: ["--max-connections"], valueName: "N",
        help: "Track up to N connections at once (default \(StreamLimits().maxConnections), 64 to 16777216); past "
            + "that the least recently active are evicted, and a check-in cut so may read as failed. Memory follows "
            + "the connections open, not N: about \(StreamLimits.openConnectionSizeText) each while idle, "
            + "11 KB within a minute of their data."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard let n = decimalInteger(v), maxConnectionsRange.contains(n) else {
            throw UsageError("--max-connections takes a whole number from \(maxConnectionsRange.lowerBound) to "
                + "\(maxConnectionsRange.upperBound), got '\(v)'")
        }
        o.maxConnections = n
    }

    static let zeek = OptionSpec(
        names: ["--zeek"], valueName: "DIR",
        help: "Read Zeek's logs in DIR instead of packets: conn.log, and http.log and ssl.log when there "
            + "(tab-separated or JSON lines, plain or compressed by gzip, xz or bzip2). Odd rows are skipped and "
            + "counted; see README, \"Zeek logs\"."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard !v.isEmpty else { throw UsageError("--zeek needs a folder, got an empty value") }
        o.zeekDirectory = v
    }

    static let http = OptionSpec(
        names: ["--http"], valueName: nil,
        help: "Also list each connection's HTTP requests and responses."
    ) { (o: inout Options, _: String) throws(UsageError) in o.showHTTP = true }

    static let tls = OptionSpec(
        names: ["--tls"], valueName: nil,
        help: "Also list each connection's TLS handshake, certificate and application-data exchanges."
    ) { (o: inout Options, _: String) throws(UsageError) in o.showTLS = true }
}

/// `v` as a whole number when it is decimal digits only (no sign, space, `0x` or `1e3`, which `Int(_:)`
/// would take or refuse unevenly), else nil.
func decimalInteger(_ v: String) -> Int? {
    guard !v.isEmpty, v.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return Int(v)
}
