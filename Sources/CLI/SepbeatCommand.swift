import Reports
#if canImport(Glibc)
import Glibc
#endif

/// The `sepbeat` command: picks a subcommand, parses its options, runs it, and
/// turns every failure into one line on stderr and a documented exit status.
public enum SepbeatCommand {
    public static let version = "0.1.0"

    struct Subcommand: Sendable {
        var name: String
        var synopsis: String
        var summary: String
        var details: String
        var specs: [OptionSpec]
        var run: @Sendable (Options, inout Output) throws -> Int32
    }

    static let subcommands: [Subcommand] = [
        Subcommand(
            name: "analyze",
            synopsis: "sepbeat analyze [options] (CAPTURE... | -i IFACE | --zeek DIR)",
            summary: "Rebuild heartbeat check-ins, name their steps and check them against the reference model.",
            details: """
                Formats: text, json (sepbeat-report/1), jsonl and csv (one row per check-in, or per client
                with --per client), html (one self-contained page with charts).
                Exit status: 0 no error-severity finding (with --fail-on warning: no warning either), also
                when no check-in was recognised (verdict n/a: nothing judged), 1 such a finding, 2 usage
                error, 3 unreadable input or interface, 4 report not written, 5 out of memory.
                Stopped by SIGINT, SIGTERM or SIGHUP: 128 + signal, and a part-written -o file is removed.
                With -i or a followed input (a pipe or FIFO, on standard input or named), the first of those
                signals ends the capture or the input, and the report is written as usual.
                """,
            specs: reportSpecs,
            run: AnalyzeCommand.run
        ),
        Subcommand(
            name: "audit",
            synopsis: "sepbeat audit [options] (CAPTURE... | -i IFACE | --zeek DIR)",
            summary: "Audit each client's heartbeat interval against the expected one; worst clients first.",
            details: """
                Per client: check-ins, failed check-ins (every connect failed, or the connection got no whole
                answer), missed, late, early and accelerated gaps, the interval's median, MAD, IQR, p5 and p95
                (seconds, regular gaps only), phase drift in seconds per hour, and a periodicity score 0-100
                judged against the expected interval (see README, "Reports").
                Formats: text, json (sepbeat-audit/1), jsonl and csv (--per client or checkin), html.
                Exit status: 0 some client judged (two check-ins or more with an interval observed between them)
                and none unhealthy (with --fail-on warning: none degraded either; with --allow-unhealthy: no more
                than it allows), 1 otherwise (also when no client was judged), 2 usage error, 3 unreadable input
                or interface, 4 report not written, 5 out of memory.
                Stopped by SIGINT, SIGTERM or SIGHUP: 128 + signal, and a part-written -o file is removed.
                With -i or a followed input (a pipe or FIFO, on standard input or named), the first of those
                signals ends the capture or the input, and the report is written as usual.
                """,
            specs: reportSpecs + [CommonOptions.allowUnhealthy],
            run: AuditCommand.run
        ),
        Subcommand(
            name: "validate",
            synopsis: "sepbeat validate [options] (CAPTURE... | -i IFACE | --zeek DIR) [--sylink FILE] "
                + "[--model FILE]",
            summary: "Validate a deployment: managers and failover, transport, TLS, interval and sizes.",
            details: """
                Prints each check with pass, fail or n/a (not checked: nothing to judge), the number of
                failing clients and up to 3 examples. A failover fails two checks: failover (a warning) for the
                check-in that reached another manager, and connectivity (an error) for the connect that failed
                before it.
                Formats: text, json (sepbeat-validate/1), jsonl and csv (--per check, client or checkin), html.
                Exit status: 0 every error check passed (with --fail-on warning: every check), 1 a check
                failed, 2 usage error, 3 unreadable input or interface, 4 report not written, 5 out of memory.
                Stopped by SIGINT, SIGTERM or SIGHUP: 128 + signal, and a part-written -o file is removed.
                With -i or a followed input (a pipe or FIFO, on standard input or named), the first of those
                signals ends the capture or the input, and the report is written as usual.
                """,
            specs: reportSpecs,
            run: ValidateCommand.run
        ),
        Subcommand(
            name: "flows",
            synopsis: "sepbeat flows [options] CAPTURE... | sepbeat flows [options] -i IFACE",
            summary: "List TCP connections as they end, then a capture summary; --http and --tls add protocol detail.",
            details: """
                Rows come in id order (first packet) as connections end; one still open while more than 16384
                later ones ended is listed when it ends, and counted. The count and the summary follow the rows.
                Client is the SYN sender; else the side that did not send the SYN-ACK; else the side on the
                higher port. Bytes are TCP payload bytes as the headers state them, retransmissions included.
                Exit status: 0 success, 2 usage error, 3 unreadable input or interface, 4 report not written,
                5 out of memory.
                Stopped by SIGINT, SIGTERM or SIGHUP: 128 + signal, and a part-written -o file is removed.
                With -i or a followed input (a pipe or FIFO, on standard input or named), the first of those
                signals ends the capture or the input, and the report is written as usual.
                """,
            specs: [CommonOptions.read, CommonOptions.filter, CommonOptions.formats([.text, .json]),
                    CommonOptions.output, CommonOptions.quiet, CommonOptions.maxConnections, CommonOptions.http,
                    CommonOptions.tls]
                + LiveOptions.forFlows,
            run: FlowsCommand.run
        ),
        Subcommand(
            name: "model",
            synopsis: "sepbeat model [--model FILE] [--sylink FILE] [--interval SECONDS] [--server HOST[:PORT]]",
            summary: "Print the reference heartbeat model in effect (built-in, or as loaded and overridden).",
            details: """
                With --model FILE the file is validated first; errors name the field. The output is always
                JSON (-F text, the default, and -F json print the same) that can be edited and given back
                with --model.
                On stderr model prints errors and the warnings of a --sylink file (a Server outside the
                ServerList, say); -q leaves out the warnings.
                Exit status: 0 success, 2 invalid model or options, 4 model not written, 5 out of memory.
                Stopped by SIGINT, SIGTERM or SIGHUP: 128 + signal, and a part-written -o file is removed.
                """,
            specs: [CommonOptions.modelOption(help: "Start from this model file (JSON) instead of the built-in "
                        + "model; the file is validated first."),
                    CommonOptions.sylink, CommonOptions.interval, CommonOptions.server,
                    CommonOptions.outputOption(help: "Write the model to FILE instead of standard output."),
                    CommonOptions.formats([.text, .json], note: " Both print the model as JSON."),
                    CommonOptions.quiet],
            run: ModelCommand.run
        ),
        SimulateCommand.subcommand,
    ]

    /// The options of analyze, audit and validate.
    static let reportSpecs: [OptionSpec] = [
        CommonOptions.read, CommonOptions.filter, CommonOptions.format, CommonOptions.output, CommonOptions.quiet,
        CommonOptions.color, CommonOptions.per, CommonOptions.failOn, CommonOptions.model, CommonOptions.sylink,
        CommonOptions.interval, CommonOptions.server, CommonOptions.jobs, CommonOptions.maxConnections,
        CommonOptions.zeek,
    ] + LiveOptions.all

    /// Runs the command line (without the program name) and returns the exit status.
    ///
    /// - Parameter exitsAfterward: true when the process exits as soon as this returns (the `sepbeat`
    ///   executable): a report is then left for the exit to reclaim instead of being taken apart
    ///   object by object, which takes about a tenth of a second for a day-long fleet capture.
    public static func main(arguments: [String], exitsAfterward: Bool = false) -> Int32 {
        // A closed pipe is reported as EPIPE (exit status 4), not by the signal killing the process.
        signal(SIGPIPE, SIG_IGN)
        // A file-size limit (ulimit -f) is reported as a failed write (EFBIG, exit status 4), not by
        // the signal killing the process with the report half-written.
        signal(SIGXFSZ, SIG_IGN)
        var output = Output()
        output.processExitsAfterward = exitsAfterward
        let status = run(arguments: arguments, output: &output)
        return status
    }

    /// Runs the command line; a report that could not be written to standard output turns the
    /// status into 4: with one line on stderr, or quietly when the reader went away (`EPIPE`, e.g.
    /// `| head`).
    static func run(arguments: [String], output: inout Output) -> Int32 {
        let status = runCommand(arguments: arguments, output: &output)
        guard let code = output.outputFailure else { return status }
        if code != EPIPE {
            // The command's name when there is one (`--help` and `--version` have none).
            let name = arguments.first.flatMap { a in subcommands.first { $0.name == a }?.name }
            output.error((name.map { "sepbeat \($0)" } ?? "sepbeat") + ": standard output: the report could not be "
                + "written: " + String(cString: strerror(code)) + "\n")
        }
        return ExitStatus.outputFailed
    }

    static func runCommand(arguments: [String], output: inout Output) -> Int32 {
        guard let first = arguments.first else {
            output.error(overview())
            return ExitStatus.usage
        }
        if first == "--help" || first == "-h" || first == "help" {
            if arguments.count > 1, let sub = subcommands.first(where: { $0.name == arguments[1] }) {
                output.write(help(for: sub))
            } else {
                output.write(overview())
            }
            return ExitStatus.ok
        }
        if first == "--version" || first == "-V" || first == "version" {
            output.write("sepbeat \(version)\n")
            return ExitStatus.ok
        }
        guard let sub = subcommands.first(where: { $0.name == first }) else {
            output.error(oneLine("sepbeat: unknown command '\(first)' (commands: "
                + subcommands.map(\.name).joined(separator: ", ") + "; see 'sepbeat --help')"))
            return ExitStatus.usage
        }
        do {
            let options = try parseOptions(Array(arguments.dropFirst()), specs: sub.specs, command: sub.name)
            // An -o FIFO opened before the captures were read and not written to (the command failed first).
            defer { if let path = options.outputPath { ReportFIFO.discard(path) } }
            if options.help {
                output.write(help(for: sub))
                return ExitStatus.ok
            }
            if options.showVersion {
                output.write("sepbeat \(version)\n")
                return ExitStatus.ok
            }
            return try sub.run(options, &output)
        } catch let e as UsageError {
            output.error(oneLine(e.message.hasPrefix("sepbeat") ? e.message : "sepbeat \(sub.name): \(e.message)"))
            return ExitStatus.usage
        } catch let e as CommandFailure {
            output.error(oneLine(e.message))
            return e.status
        } catch {
            output.error(oneLine("sepbeat \(sub.name): \(error)"))
            return ExitStatus.unreadableInput
        }
    }

    /// `s` as one line for stderr, ended by a newline: every control character in it (C0 with line
    /// breaks and ESC, DEL, C1) shown as `?`, as the text report shows them (`TextTable.sanitize`), so a
    /// file name holding them can neither break the message into lines nor drive the terminal.
    static func oneLine(_ s: String) -> String {
        var text = Substring(s)
        while text.last == "\n" { text = text.dropLast() }
        return TextTable.sanitize(String(text)) + "\n"
    }

    static func overview() -> String {
        var s = """
            sepbeat \(version): Symantec Endpoint Protection heartbeats in packet captures

            Usage: sepbeat COMMAND [options] [CAPTURE...]
            (analyze, audit, validate and flows read CAPTURE files, or capture with -i IFACE; model and
            simulate take none)

            Commands:

            """
        for sub in subcommands {
            s += "  " + sub.name.padding(10) + sub.summary + "\n"
        }
        s += """

            Run 'sepbeat COMMAND --help' for a command's options. 'sepbeat --version' prints the version.

            """
        return s
    }

    static func help(for sub: Subcommand) -> String {
        var s = "Usage: \(sub.synopsis)\n\n\(sub.summary)\n\nOptions:\n"
        var rows: [(String, String)] = []
        for spec in sub.specs {
            var left = spec.names.joined(separator: ", ")
            if let v = spec.valueName { left += " " + v }
            rows.append((left, spec.help))
        }
        rows.append(("-h, --help", "Show this help."))
        rows.append(("-V, --version", "Print the version."))
        let width = rows.map(\.0.count).max() ?? 0
        for (l, r) in rows {
            s += "  " + l.padding(width + 2) + r + "\n"
        }
        s += "\n" + sub.details + "\n"
        return s
    }
}

/// A failure with its own exit status and a one-line message that names the file and the problem.
struct CommandFailure: Error {
    var message: String
    var status: Int32
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
