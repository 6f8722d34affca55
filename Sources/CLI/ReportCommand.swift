#if canImport(Glibc)
import Glibc
#endif
import Analysis
import Core
import Foundation
import Heartbeat
import Records
import Reports

/// The run shared by `analyze`, `audit` and `validate`: read the captures, rebuild the
/// check-ins, audit the fleet, and write the report in the chosen format.
enum ReportCommand {
    static func run(_ kind: ReportKind, _ options: Options, _ output: inout Output) throws -> Int32 {
        let per = ReportRows.Granularity(rawValue: options.per) ?? ReportRows.Granularity.defaultRows(for: kind)
        if per == .check, kind != .validate {
            throw UsageError("--per check gives the checks of 'sepbeat validate'; use checkin or client here")
        }
        let model = try HeartbeatSetup.model(options, command: kind.rawValue)
        let sylink = try HeartbeatSetup.sylink(options, command: kind.rawValue, model: model, output: &output)
        var parallelReport: HeartbeatReport?
        let template = {
            // A model saved with `sepbeat model --interval N` carries `pinned`: its interval is the model's.
            var b = SessionBuilder(model: model, sylink: sylink,
                                   pinnedByModelFile: options.intervalSeconds == nil && model.interval.pinned)
            // Clients are built after the last packet, when the reading threads' core is free.
            b.threads = options.jobsGiven ? options.jobs : defaultBuildThreads
            return b
        }()
        // Reports so far are built again and again on new threads: with several heap arenas their memory would
        // be left spread over them (a fifth more at the peak), so one arena, set before the first thread starts.
        if options.live.everySeconds != nil { HeapArenas.cap(1) }
        // Records are filed on a thread of their own while the traffic layers go on reading.
        let ingest = IngestQueue(template)
        let failOn: Severity = options.failOn == "warning" ? .warning : .error
        let format = ReportFormat(rawValue: options.format.rawValue) ?? .text
        let palette = Palette(enabled: format == .text && ColorChoice.enabled(
            options.color, stdoutIsTerminal: options.outputPath == nil && output.stdoutIsTerminal,
            environment: ColorChoice.processEnvironment))
        // The rolling report of a live capture or a followed input (`--every`): the records filed so far, with
        // the connections still open as the capture's end would make them now (filed in the copy only), and the
        // summaries so far, replace the -o file whole; a failed write is a warning, and the capture goes on.
        let rollingFailures = RollingFailures()
        let rolling: InputRun.RollingReport? = options.live.everySeconds == nil ? nil : { soFar, output in
            var snapshot = ingest.snapshot()
            for c in soFar.open { snapshot.ingest(c.record) }
            // Marked in every format but the row formats (jsonl, csv), so that it is not read as the final report.
            // Before a followed input's first packet no file is open yet: it is listed all the same, with nothing
            // read, so that the report says what it is of and carries the mark.
            let opened = soFar.files.isEmpty ? options.captures.map(CaptureSummary.init(path:)) : soFar.files
            let files = opened.map { f in
                var f = f
                f.soFar = true
                return f
            }
            let heartbeat = finish(&snapshot, files: files)
            let bundle = ReportBundle.command(kind, heartbeat: heartbeat, captures: files, model: model,
                                              sylink: sylink, failOn: failOn,
                                              allowUnhealthy: options.allowUnhealthy)
            let path = options.outputPath ?? "-"
            let problem: String?
            do {
                try ReportWriter.replace(command: kind.rawValue, path: path) { sink in
                    try bundle.write(format, palette: palette, per: per, to: sink)
                }
                problem = nil
            } catch let failure as CommandFailure {
                problem = failure.message
            } catch {
                problem = "sepbeat \(kind.rawValue): \(error)"
            }
            // An error of the output, not a warning: said even with --quiet, or the file goes stale unseen.
            if let line = rollingFailures.note(problem, command: kind.rawValue, path: path) {
                output.error(SepbeatCommand.oneLine(line))
            }
        }
        let files: [CaptureSummary]
        if let directory = options.zeekDirectory {
            files = try ZeekInput.run(directory: directory, options: options, command: kind.rawValue,
                                      output: &output) { ingest.ingest($0) }
        } else {
            files = try InputRun.run(
                options: options, command: kind.rawValue, configuration: options.analysisConfiguration(),
                output: &output,
                parallel: managersByName(model, sylink) ? nil : { result in
                    if let refused = tunnelRefusal(result.connections) { return refused }
                    var apart = template
                    for c in result.connections { apart.ingest(c.record) }
                    let report = finish(&apart, files: result.files)
                    // Which records a bound of the heartbeat layer drops depends on their arrival order.
                    guard report.counts.droppedByLimits == 0 else {
                        return ParallelCaptureRun.Fallback(reason: "a heartbeat limit was reached")
                    }
                    parallelReport = report
                    return nil
                }
            , rolling: rolling) { ingest.ingest($0.record) }
        }
        var builder = ingest.finish()
        let heartbeat = parallelReport ?? finish(&builder, files: files)
        if heartbeat.counts.droppedByLimits > 0, !options.quiet {
            let why = heartbeat.limitDrops.map { " (" + $0.text + ")" } ?? " by limits"
            output.error("sepbeat \(kind.rawValue): warning: \(heartbeat.counts.droppedByLimits) connections to "
                + "management ports were dropped\(why); the report leaves them out\n")
        }
        let bundle = ReportBundle.command(kind, heartbeat: heartbeat, captures: files, model: model, sylink: sylink,
                                          failOn: failOn, allowUnhealthy: options.allowUnhealthy)
        if options.live.everySeconds != nil, let path = options.outputPath {
            // The last rolling report's readers see this one replace it whole, as each before it.
            try ReportWriter.replace(command: kind.rawValue, path: path) { sink in
                try bundle.write(format, palette: palette, per: per, to: sink)
            }
        } else {
            _ = try ReportWriter.stream(command: kind.rawValue, options: options, output: &output) { sink in
                try bundle.write(format, palette: palette, per: per, to: sink)
            }
        }
        // Only the text and HTML audits say under their counts why no client was seen or judged; in the
        // other formats a failed verdict would otherwise come with no unhealthy client and nothing on stderr.
        // Read for `audit` only: the fleet audit is worked out when first read (`ReportBundle.audit`).
        if kind == .audit, format != .text, format != .html, !options.quiet {
            let fleet = bundle.audit.summary
            if fleet.noneJudged, fleet.clients == 0 {
                output.error("sepbeat audit: warning: no client seen, nothing was judged (the verdict fails); "
                    + "the text report says why\n")
            } else if fleet.noneJudged {
                output.error("sepbeat audit: warning: \(fleet.verdictReason), so nothing was judged "
                    + "(the verdict fails)\n")
            }
        }
        output.keepUntilExit(bundle)
        // The packets a live capture was to save (-w) are an output too: a failed save is said in the warnings.
        if files.contains(where: { $0.saveFailed != nil }) { return ExitStatus.outputFailed }
        return status(bundle, failOn: failOn)
    }

    /// The report of `builder` once every record is in: the capture's span, silences and cuts noted
    /// (`SessionBuilder.noteCaptures`).
    static func finish(_ builder: inout SessionBuilder, files: [CaptureSummary]) -> HeartbeatReport {
        builder.noteCaptures(files)
        return builder.finish()
    }

    /// Threads that build clients' check-ins without `--jobs`: two when there are two cores or more.
    static var defaultBuildThreads: Int { min(2, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Why the connections of files read apart cannot give the merged run's report because of a proxy
    /// tunnel, else nil: a tunnel's target named by host is tied to an address by the connections filed
    /// before it, in the order they arrive, which reading files apart does not keep.
    static func tunnelRefusal(_ connections: [CompletedConnection]) -> ParallelCaptureRun.Fallback? {
        let byName = connections.contains { $0.record.tunnel.map { IPAddress($0.host) == nil } ?? false }
        return byName ? ParallelCaptureRun.Fallback(reason: "a proxy tunnel names its target by host name") : nil
    }

    /// Whether a manager is configured by host name: its address is then learned from the connections
    /// in the order they arrive, which reading files apart does not keep, so the files are read in order.
    static func managersByName(_ model: ReferenceModel, _ sylink: SyLinkFile?) -> Bool {
        model.servers.contains { IPAddress($0.host) == nil } || (sylink?.servers ?? []).contains { $0.ipAddress == nil }
    }

    /// 1 when the command's verdict fails at `failOn`, else 0.
    static func status(_ b: ReportBundle, failOn: Severity) -> Int32 {
        b.failed(failOn: failOn) ? ExitStatus.findings : ExitStatus.ok
    }
}

/// Whether text output gets colour: `--color`, the terminal, and `NO_COLOR` (any value, even
/// empty, turns colour off, whatever `--color` says).
enum ColorChoice {
    static func enabled(_ mode: ColorMode, stdoutIsTerminal: Bool, environment: (String) -> String?) -> Bool {
        if environment("NO_COLOR") != nil { return false }
        switch mode {
        case .always: return true
        case .never: return false
        case .auto: return stdoutIsTerminal && environment("TERM") != "dumb"
        }
    }

    static func processEnvironment(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}
