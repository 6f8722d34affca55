import Analysis
import Heartbeat
import Records

extension SessionBuilder {
    /// Tells the builder what the summaries of the captures its records came from know and the records do not:
    /// the capture's span (its timeline's edges), the stretches with no packet (between files, clock jumps: the
    /// intervals across them are not judged) and those stamped off the clock, steps of the clock back and
    /// forward, and each file's cuts, skipped blocks, packets lost or without a time, as `capture-gap` and
    /// `capture-truncated` findings. Call it once, with every file's summary (`CaptureRun.run`, or
    /// `TrafficAnalyzer.files` after `adopt(fileStatistics:)`), after the last record and before `finish()`:
    /// `sepbeat analyze`, `audit` and `validate` do exactly this, so the report is then the command's. For a
    /// report so far, call it on a copy of the builder with `CaptureSoFar.files`.
    public mutating func noteCaptures(_ files: [CaptureSummary]) {
        let merged = CaptureSummary.merged(files)
        // The timeline's span: a stray packet, or a flow stamped far off, is no edge of the capture.
        if let first = merged.timelineStart ?? merged.first, let last = merged.timelineEnd ?? merged.last {
            noteCaptureSpan(first: first, last: last)
        }
        // A live capture's interface down: time it did not cover, as between files.
        noteCaptureSilences(merged.silences.map { Self.quietBetweenFiles($0, model: model) }
            + merged.interfaceDown)
        noteOffClock(merged.offClock)
        for file in files {
            for step in file.clockSetBack { noteClockSetBack(file: file.path, step) }
        }
        for f in CaptureSummary.clocksSetForward(files) {
            noteClockSetForward(file: f.path, silence: f.silence, runsOn: f.runsOn)
        }
        if merged.silencesNotListed > 0 {
            // Only stretches the capture did not cover (between files, clock jumps): quiet stretches the clock
            // ran through raise nothing, listed or not.
            noteCaptureGap("\(merged.silencesNotListed) further stretches with no packet for over "
                + "\(CaptureSummary.silenceThreshold / 1_000_000_000) s between capture files or across a jump of "
                + "the clock were not listed; intervals across them were judged as if the capture had run")
        }
        for file in files {
            for w in file.truncationOffsets {
                noteCaptureTruncated(file: file.path, offset: w, decompressed: file.compression != nil)
            }
            if file.truncatedBeforeTCP > 0 { noteHeadersCut(file: file.path, packets: file.truncatedBeforeTCP) }
            // Packets of a link layer sepbeat does not decode (802.11 merged with an Ethernet capture, say) are
            // counted on the summary's odd line; their check-ins are missing, so the capture is not complete.
            if file.unsupportedTotal > 0 {
                let names = file.unsupportedLinkTypes.sorted { $0.key.name < $1.key.name }
                    .map { "\($0.key.name) \($0.value)" }.joined(separator: ", ")
                let n = file.unsupportedTotal
                let were = n == 1 ? "was" : "were"
                let which = n < file.packets ? "\(n) of its \(file.packets) packets"
                    : n == 1 ? "its only packet" : "all \(n) of its packets"
                noteCaptureGap("\(file.path): \(which) \(were) on a link type sepbeat does not read "
                    + "(\(names)) and \(were) left out: check-ins in them are missing")
            }
            if file.skippedRecords > 0 {
                let n = file.skippedRecords
                noteCaptureGap("\(file.path): \(n == 1 ? "1 block was" : "\(n) blocks were") skipped unread "
                    + "(malformed, longer than the size limit, or packets naming an interface their section does not "
                    + "declare): check-ins in them are missing or incomplete")
            }
            for log in file.logs ?? [] where log.skippedRows > 0 {
                let n = log.skippedRows
                let lost = log.name == "conn.log"
                    ? "their connections are left out, so check-ins among them may be missing"
                    : "their connections' \(log.name == "http.log" ? "requests" : "handshakes") are missing"
                noteCaptureGap("\(log.path ?? log.name): \(n == 1 ? "1 row was" : "\(n) rows were") skipped as odd "
                    + "(the logs' summary says why): \(lost)")
            }
            if let why = file.captureEndedEarly {
                noteCaptureGap("\(file.path): \(why)", time: file.last)
            }
            // A live capture that lost packets: check-ins around them may be cut (sizes short, steps missing).
            let lost = (file.droppedByKernel ?? 0) + (file.droppedByInterface ?? 0)
            if lost > 0 {
                noteCaptureGap("\(file.path): \(lost) packets were lost while capturing "
                    + "(\(file.droppedByKernel ?? 0) dropped by the kernel with its buffer full, "
                    + "\(file.droppedByInterface ?? 0) by the interface); check-ins around them may be incomplete")
            }
            // Packets without a time sit at 1970 together: any check-in built on them would pass unjudged.
            if file.packetsWithoutTimestamp > 0 {
                noteCaptureGap("\(file.path): \(file.packetsWithoutTimestamp) of \(file.packets) packets carry "
                    + "no time (pcapng Simple Packet Blocks, or a time of exactly 0): their check-ins' times, "
                    + "intervals and durations are unknown and not to be trusted")
            }
        }
    }

    /// A stretch between two capture files no longer than the pull interval is taken as quiet time at a file
    /// boundary (files rotated by size or time: `tcpdump -C`/`-G`, `editcap -c`), not as time the capture did
    /// not cover: in a sparse capture a boundary often falls in a quiet minute, and one that fell where a
    /// client missed its check-in hid the miss. A longer stretch (a file missing from the set) stays uncovered;
    /// a shorter stop that every client missed across is still named (the capture-stop warning).
    static func quietBetweenFiles(_ s: CaptureSilence, model: ReferenceModel) -> CaptureSilence {
        guard s.betweenFiles, !s.clockJump, !s.clockSetBack,
              Double(s.nanoseconds) <= model.interval.seconds * 1e9 else { return s }
        var quiet = s
        quiet.betweenFiles = false
        return quiet
    }
}
