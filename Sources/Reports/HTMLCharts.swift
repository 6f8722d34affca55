import Analysis
import Core
import Foundation
import Heartbeat

/// Inline SVG charts of the HTML report. Every label passes through `HTML.escape`; no chart
/// refers to anything outside the page.
enum HTMLCharts {
    static let width = 960.0

    /// How a check-in is coloured on the timeline and in tables.
    enum Mark: String, CaseIterable {
        case ok, accel, warn, error, failed

        var label: String {
            switch self {
            case .ok: return "on time, no finding"
            case .accel: return "accelerated (within the accelerated range of the previous one)"
            case .warn: return "warning finding"
            case .error: return "error finding"
            case .failed: return "failed check-in (no connect, TLS handshake or answer)"
            }
        }
    }

    static func mark(_ s: SessionReport, previous: SessionReport?, acceleratedMax: Double) -> Mark {
        if s.failed { return .failed }
        switch ReportRows.worstSeverity(s) {
        case .error?: return .error
        case .warning?: return .warn
        default: break
        }
        if let p = previous, s.start.seconds(since: p.start) <= acceleratedMax { return .accel }
        return .ok
    }

    // MARK: - Timeline

    /// One row per client (worst first by `timelineOrder`, at most `maxRows`), one mark per check-in, red dashes
    /// over missed slots; appended to `out` with a `flush` after every client's row. Check-ins are
    /// read in place; only those of the clients drawn are gathered, by position.
    static func appendTimeline(_ b: ReportBundle, maxRows: Int = 200, to out: inout TextBytes,
                               flush: TextBytes.Flush) rethrows {
        let clients = timelineOrder(b).prefix(maxRows)
        let merged = CaptureSummary.mergedSpan(b.captures)
        guard let lo = merged.first ?? earliest(b.heartbeat.sessions),
              let hi = merged.last ?? latest(b.heartbeat.sessions), !clients.isEmpty else {
            out += "<p class=\"note\">No check-ins to draw.</p>"
            return
        }
        let span = max(hi.seconds(since: lo), 1)
        let left = 150.0
        let right = 20.0
        let rowHeight = 22.0
        let top = 10.0
        let plot = width - left - right
        let height = top + Double(clients.count) * rowHeight + 40
        func x(_ t: Timestamp) -> Double { left + t.seconds(since: lo) / span * plot }

        out += svgOpen(height: height, label: "Check-ins per client over time")
        var drawn: [IPAddress: [Int]] = [:]
        for c in clients { drawn[c.client] = [] }
        for (i, s) in b.heartbeat.sessions.enumerated() where drawn[s.client] != nil {
            drawn[s.client, default: []].append(i)
        }
        try b.heartbeat.sessions.withUnsafeBufferPointer { sessions in
            for (row, c) in clients.enumerated() {
                let y = top + Double(row) * rowHeight
                let mid = y + rowHeight / 2
                out += "<text class=\"lbl\" x=\"\(f(left - 8))\" y=\"\(f(mid + 4))\" text-anchor=\"end\">"
                    + HTML.escape(c.client.description) + "</text>"
                out += "<line class=\"row h-\(c.health.rawValue)\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" "
                    + "y1=\"\(f(mid))\" y2=\"\(f(mid))\"/>"
                let mine = (drawn[c.client] ?? []).sorted { sessions[$0].start < sessions[$1].start }
                for (k, i) in mine.enumerated() {
                    let s = sessions[i]
                    let previous = k > 0 ? sessions[mine[k - 1]] : nil
                    if let p = previous, s.findings.contains(where: { $0.code == .missedHeartbeat }) {
                        out += "<line class=\"missed\" x1=\"\(f(x(p.start)))\" x2=\"\(f(x(s.start)))\" "
                            + "y1=\"\(f(mid))\" y2=\"\(f(mid))\"/>"
                    }
                    let m = mark(s, previous: previous, acceleratedMax: b.audit.acceleratedMaxSeconds)
                    let w = max(4, x(s.end) - x(s.start))
                    let tip = "#\(s.id) \(s.start.rfc3339(fractionDigits: 3)) to \(s.server): "
                        + (s.findings.isEmpty ? m.label : s.findings.map(\.code.rawValue).joined(separator: ", "))
                    out += "<rect class=\"m-\(m.rawValue)\" x=\"\(f(x(s.start) - 2))\" y=\"\(f(mid - 7))\" "
                        + "width=\"\(f(w))\" height=\"14\" rx=\"2\"><title>" + HTML.escape(tip) + "</title></rect>"
                }
                try flush(&out)
            }
        }
        let axisY = top + Double(clients.count) * rowHeight + 8
        out += "<line class=\"axis\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(axisY))\" "
            + "y2=\"\(f(axisY))\"/>"
        // Ticks a day or more apart, or on different days, carry their date: times of day alone would read
        // as hours of one day.
        let dated = clock(lo, dated: true).prefix(10) != clock(hi, dated: true).prefix(10)
        for k in 0...5 {
            let t = lo.adding(seconds: span * Double(k) / 5)
            let anchor = k == 0 ? "start" : k == 5 ? "end" : "middle"
            out += "<text class=\"tick\" x=\"\(f(x(t)))\" y=\"\(f(axisY + 18))\" text-anchor=\"\(anchor)\">"
                + HTML.escape(clock(t, dated: dated)) + "</text>"
        }
        out += "</svg>"
        var legend = "<p class=\"legend\">"
        for m in Mark.allCases { legend += "<span class=\"key m-\(m.rawValue)\"></span>" + HTML.escape(m.label) + " " }
        legend += "<span class=\"key missed\"></span>missed check-ins (UTC times)</p>"
        out += legend
        if b.audit.clients.count > maxRows {
            let text = "Showing the \(maxRows) worst of \(b.audit.clients.count) clients."
            out += "<p class=\"note\">" + HTML.escape(text) + "</p>"
        }
    }

    /// The audit's clients, worst first for the timeline, which shows the check-ins' findings too: unhealthy (by
    /// their intervals, or with an error finding), then degraded (by their intervals, or with a warning), then
    /// those with an information finding (an accelerated check-in), then the rest; within each, in the audit's
    /// order (interval health, then periodicity score, whose jitter term weighs the same seconds of jitter twice as
    /// heavily on a 300 s push heartbeat as on a 600 s pull one, so it must not put healthy push clients first).
    static func timelineOrder(_ b: ReportBundle) -> [FleetAudit.Client] {
        var worst: [IPAddress: Severity] = [:]
        for f in b.heartbeat.findings {
            guard let client = f.client else { continue }
            worst[client] = max(worst[client] ?? f.severity, f.severity)
        }
        func rank(_ c: FleetAudit.Client) -> Int {
            let severity = worst[c.client]
            if c.health == .unhealthy || severity == .error { return 0 }
            if c.health == .degraded || severity == .warning { return 1 }
            return severity == nil ? 3 : 2
        }
        // The index keeps the audit's order within a rank.
        let ranked = b.audit.clients.enumerated().map { (rank: rank($0.element), index: $0.offset) }
            .sorted { ($0.rank, $0.index) < ($1.rank, $1.index) }
        return ranked.map { b.audit.clients[$0.index] }
    }

    /// The earliest start or end of `sessions` (nil when there is none).
    private static func earliest(_ sessions: [SessionReport]) -> Timestamp? {
        var lo: Timestamp?
        for s in sessions { lo = min(lo ?? s.start, s.start, s.end) }
        return lo
    }

    /// The latest start or end of `sessions` (nil when there is none).
    private static func latest(_ sessions: [SessionReport]) -> Timestamp? {
        var hi: Timestamp?
        for s in sessions { hi = max(hi ?? s.start, s.start, s.end) }
        return hi
    }

    // MARK: - Interval histogram

    /// How a gap of `kind` is coloured in the interval histogram: a gap hiding missed check-ins in the error colour.
    static func gapMark(_ kind: FleetAudit.GapVerdict.Kind) -> Mark {
        switch kind {
        case .onTime: return .ok
        case .late, .early: return .warn
        case .missed: return .error
        case .accelerated: return .accel
        }
    }

    /// The interval histogram's legend, one key per colour `gapMark(_:)` gives.
    static let gapLegend: [(mark: Mark, label: String)] = [
        (.ok, "on time"), (.warn, "late or early"), (.error, "missed check-ins"), (.accel, "accelerated"),
    ]

    /// Gaps between check-ins of every client, against the expected interval, its tolerance and its multiples, and
    /// the push interval's band when there are push gaps judged against another one. Each gap is coloured by the
    /// verdict the audit gave it against its own mode's interval (a bar stacks the verdicts of its gaps).
    static func intervalHistogram(_ b: ReportBundle) -> String {
        // Every client's gaps, read in place (not gathered into one array).
        let clients = b.audit.clients
        let e = b.heartbeat.expectations
        let interval = e.pullIntervalSeconds
        let tolerance = e.toleranceSeconds
        var longest: Double?
        var pushGaps = false
        for c in clients {
            for g in c.gaps { longest = max(longest ?? g, g) }
            if !pushGaps { pushGaps = c.gapVerdicts.contains { $0.mode == .push } }
        }
        guard let longest, interval > 0 else {
            return "<p class=\"note\">No intervals: fewer than two check-ins per client.</p>"
        }
        let top = min(max(longest, interval * 1.5) * 1.05, interval * 4.2)
        let bins = 84
        let marks = Mark.allCases
        // Per bin, how many gaps of each mark (by `Mark.allCases` position).
        var byMark = [[Int]](repeating: [Int](repeating: 0, count: marks.count), count: bins)
        var over = 0
        for c in clients {
            for (g, verdict) in zip(c.gaps, c.gapVerdicts) {
                if g > top { over += 1; continue }
                let column = marks.firstIndex(of: gapMark(verdict.kind)) ?? 0
                byMark[min(bins - 1, max(0, Int(g / top * Double(bins))))][column] += 1
            }
        }
        let chart = Histogram(title: "Intervals between check-ins", xLabel: "seconds between check-in starts",
                              counts: byMark.map { $0.reduce(0, +) }, x: { $0 / top })
        let push = e.rules(for: .push)
        // A band of its own only where push gaps are judged against another band than pull ones.
        let pushBand = pushGaps && (e.pushIntervalSeconds != interval || push.toleranceSeconds != tolerance)
        var svg = chart.open()
        svg += chart.band(from: interval - tolerance, to: interval + tolerance, cls: "band-ok",
                          label: "\(pushBand ? "pull" : "expected") \(AuditText.num(interval)) s ± "
                            + "\(AuditText.num(tolerance)) s")
        if pushBand {
            let p = e.pushIntervalSeconds
            svg += chart.band(from: p - push.toleranceSeconds, to: p + push.toleranceSeconds, cls: "band-ok",
                              label: "push \(AuditText.num(p)) s ± \(AuditText.num(push.toleranceSeconds)) s", row: 1)
        }
        var k = 2.0
        while k * interval <= top {
            svg += chart.marker(at: k * interval, cls: "multiple", label: "\(Int(k))× (missed)")
            k += 1
        }
        svg += chart.marker(at: interval, cls: "expected", label: "")
        if pushBand { svg += chart.marker(at: e.pushIntervalSeconds, cls: "expected", label: "") }
        svg += chart.marker(at: b.audit.acceleratedMaxSeconds, cls: "accel-line", label: "accelerated")
        if pushGaps, push.acceleratedMaxSeconds != b.audit.acceleratedMaxSeconds {
            svg += chart.marker(at: push.acceleratedMaxSeconds, cls: "accel-line", label: "push accelerated")
        }
        svg += chart.stackedBars { i in marks.indices.map { ("m-" + marks[$0].rawValue, byMark[i][$0]) } }
        svg += chart.axis(ticks: stride(from: 0, through: top, by: interval / 2).map { ($0, AuditText.num($0)) })
        svg += "</svg>"
        var legend = "<p class=\"legend\">" + HTML.escape("Each gap judged against its own mode's interval: ")
        for key in gapLegend {
            legend += "<span class=\"key m-\(key.mark.rawValue)\"></span>" + HTML.escape(key.label) + " "
        }
        return svg + legend + "</p>"
            + (over > 0 ? "<p class=\"note\">\(over) longer interval(s) beyond the chart.</p>" : "")
    }

    // MARK: - Sizes

    /// Steps 3-6 bytes of every check-in on a log scale, against the idle range and the full-heartbeat maximum.
    static func sizeHistogram(_ b: ReportBundle) -> String {
        // Two passes over the check-ins, read in place: the smallest and largest size, then the bins.
        let sessions = b.heartbeat.sessions
        var smallestBytes: Int64?
        var largestBytes: Int64 = 1
        for s in sessions {
            guard let size = checkInSize(s) else { continue }
            largestBytes = smallestBytes == nil ? size.bytes : max(largestBytes, size.bytes)
            smallestBytes = min(smallestBytes ?? size.bytes, size.bytes)
        }
        guard let smallestBytes else { return "<p class=\"note\">No check-in carried application bytes.</p>" }
        let m = b.model.sizes
        let smallest = Double(smallestBytes)
        let loBytes = smallest < 1_500 ? 100.0 : 1_000.0
        let hiBytes = max(Double(m.fullMaxBytes) * 1.5, Double(largestBytes) * 1.2)
        let lo = log10(loBytes)
        let hi = log10(hiBytes)
        func pos(_ v: Double) -> Double { (log10(max(v, loBytes)) - lo) / (hi - lo) }
        let bins = 60
        var counts = [Int](repeating: 0, count: bins)
        var idleBins = [Int](repeating: 0, count: bins)
        for s in sessions {
            guard let s = checkInSize(s) else { continue }
            let i = min(bins - 1, max(0, Int(pos(Double(s.bytes)) * Double(bins))))
            counts[i] += 1
            if s.idle { idleBins[i] += 1 }
        }
        let chart = Histogram(title: "Check-in sizes", xLabel: "bytes of steps 3-6, up + down (log scale)",
                              counts: counts, x: pos)
        var svg = chart.open()
        svg += chart.band(from: Double(m.idleMinBytes), to: Double(m.idleMaxBytes), cls: "band-ok",
                          label: "idle \(sizeLabel(Int64(m.idleMinBytes)))-\(sizeLabel(Int64(m.idleMaxBytes)))")
        svg += chart.marker(at: Double(m.fullMaxBytes), cls: "limit",
                            label: "full max \(sizeLabel(Int64(m.fullMaxBytes)))")
        svg += chart.bars { i in idleBins[i] * 2 >= counts[i] ? "m-idle" : "m-full" }
        var ticks: [(Double, String)] = []
        // Binary units, as the model's sizes: ticks at powers of 4 from 128 B (or 1 KiB).
        var t = loBytes < 1_000 ? 128.0 : 1_024.0
        // Only ticks an Int64 can name (a check-in of nearly 2^63 bytes takes the axis there).
        while t <= hiBytes, t < 0x1p63 {
            ticks.append((t, sizeLabel(Int64(t))))
            t *= 4
        }
        svg += chart.axis(ticks: ticks)
        svg += "</svg><p class=\"legend\"><span class=\"key m-idle\"></span>idle check-ins (index check only) "
            + "<span class=\"key m-full\"></span>check-ins with downloads or uploads</p>"
        return svg
    }

    /// Bytes up and down of steps 3-6 of a check-in that did not fail, and whether step 3 is the only one
    /// of them it has (an idle check-in); nil when it failed or carried no such bytes.
    private static func checkInSize(_ s: SessionReport) -> (bytes: Int64, idle: Bool)? {
        guard !s.failed else { return nil }
        var bytes: Int64 = 0
        var step3 = false
        var others = false
        for st in s.steps where (3...6).contains(st.step) {
            // Held at the largest value: records made by hand may carry counts whose sum overflows.
            for n in [st.bytesUp, st.bytesDown] {
                let (sum, overflow) = bytes.addingReportingOverflow(n)
                bytes = overflow ? (n < 0 ? .min : .max) : sum
            }
            if st.step == 3 { step3 = true } else { others = true }
        }
        guard bytes > 0 else { return nil }
        return (bytes, step3 && !others)
    }

    // MARK: - Helpers

    /// `512 B`, `3 KiB`, `300 KiB`, `2 MiB` for whole multiples; otherwise `formatBytes`.
    static func sizeLabel(_ n: Int64) -> String {
        if n >= 1_048_576, n % 1_048_576 == 0 { return "\(n / 1_048_576) MiB" }
        if n >= 1_024, n % 1_024 == 0 { return "\(n / 1_024) KiB" }
        return formatBytes(n)
    }

    static func svgOpen(height: Double, label: String) -> String {
        "<svg role=\"img\" aria-label=\"" + HTML.escape(label)
            + "\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\">"
    }

    static func f(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// `08:05:26` (UTC); with `dated`, `2024-01-03 08:05` (the timeline's ticks when its span crosses days).
    static func clock(_ t: Timestamp, dated: Bool = false) -> String {
        let text = t.rfc3339(fractionDigits: 0)
        let parts = text.split(separator: "T")
        guard parts.count == 2 else { return text }
        return dated ? parts[0] + " " + parts[1].prefix(5) : String(parts[1].prefix(8))
    }
}

/// A bar chart over a 0-1 x axis, drawn as inline SVG.
struct Histogram {
    var title: String
    var xLabel: String
    var counts: [Int]
    /// Maps a data value to 0-1 across the plot.
    var x: (Double) -> Double
    let left = 50.0
    let right = 20.0
    let top = 30.0
    let plotHeight = 170.0

    var plotWidth: Double { HTMLCharts.width - left - right }
    var height: Double { top + plotHeight + 45 }

    func px(_ v: Double) -> Double { left + min(1, max(0, x(v))) * plotWidth }

    func open() -> String {
        let peak = counts.max() ?? 0
        var s = HTMLCharts.svgOpen(height: height, label: title)
        s += "<text class=\"lbl\" x=\"\(HTMLCharts.f(left))\" y=\"16\">"
            + HTML.escape("\(title) (highest bar: \(peak))") + "</text>"
        return s
    }

    /// A shaded band from `a` to `b`, its label beside it on line `row` (0 at the top), so two bands' labels
    /// do not run into each other.
    func band(from a: Double, to b: Double, cls: String, label: String, row: Int = 0) -> String {
        let x0 = px(a)
        let x1 = px(b)
        return "<rect class=\"\(cls)\" x=\"\(HTMLCharts.f(x0))\" y=\"\(HTMLCharts.f(top))\" "
            + "width=\"\(HTMLCharts.f(max(1, x1 - x0)))\" height=\"\(HTMLCharts.f(plotHeight))\"/>"
            + "<text class=\"tag\" x=\"\(HTMLCharts.f(x1 + 4))\" y=\"\(HTMLCharts.f(top + 12 + 28 * Double(row)))\">"
            + HTML.escape(label) + "</text>"
    }

    func marker(at v: Double, cls: String, label: String) -> String {
        let xv = px(v)
        var s = "<line class=\"\(cls)\" x1=\"\(HTMLCharts.f(xv))\" x2=\"\(HTMLCharts.f(xv))\" "
            + "y1=\"\(HTMLCharts.f(top))\" y2=\"\(HTMLCharts.f(top + plotHeight))\"/>"
        if !label.isEmpty {
            let nearRight = xv > left + plotWidth * 0.8
            s += "<text class=\"tag\" x=\"\(HTMLCharts.f(nearRight ? xv - 4 : xv + 4))\" "
                + "y=\"\(HTMLCharts.f(top + 26))\" text-anchor=\"\(nearRight ? "end" : "start")\">"
                + HTML.escape(label) + "</text>"
        }
        return s
    }

    func bars(_ cls: (Int) -> String) -> String {
        let peak = Double(max(1, counts.max() ?? 1))
        let w = plotWidth / Double(counts.count)
        var s = ""
        for (i, n) in counts.enumerated() where n > 0 {
            let h = max(2, Double(n) / peak * (plotHeight - 10))
            s += "<rect class=\"\(cls(i))\" x=\"\(HTMLCharts.f(left + Double(i) * w + 0.5))\" "
                + "y=\"\(HTMLCharts.f(top + plotHeight - h))\" width=\"\(HTMLCharts.f(max(1, w - 1)))\" "
                + "height=\"\(HTMLCharts.f(h))\"><title>\(n)</title></rect>"
        }
        return s
    }

    /// A bar per bin made of one piece per class, bottom up, each as tall as its share of the bin's count (the
    /// bin as tall as in `bars`); classes with no count are left out.
    func stackedBars(_ pieces: (Int) -> [(cls: String, count: Int)]) -> String {
        let peak = Double(max(1, counts.max() ?? 1))
        let w = plotWidth / Double(counts.count)
        var s = ""
        for (i, n) in counts.enumerated() where n > 0 {
            let h = max(2, Double(n) / peak * (plotHeight - 10))
            var bottom = top + plotHeight
            for piece in pieces(i) where piece.count > 0 {
                let part = h * Double(piece.count) / Double(n)
                s += "<rect class=\"\(piece.cls)\" x=\"\(HTMLCharts.f(left + Double(i) * w + 0.5))\" "
                    + "y=\"\(HTMLCharts.f(bottom - part))\" width=\"\(HTMLCharts.f(max(1, w - 1)))\" "
                    + "height=\"\(HTMLCharts.f(part))\"><title>\(piece.count)</title></rect>"
                bottom -= part
            }
        }
        return s
    }

    func axis(ticks: [(Double, String)]) -> String {
        let y = top + plotHeight
        var s = "<line class=\"axis\" x1=\"\(HTMLCharts.f(left))\" x2=\"\(HTMLCharts.f(left + plotWidth))\" "
            + "y1=\"\(HTMLCharts.f(y))\" y2=\"\(HTMLCharts.f(y))\"/>"
        for (v, label) in ticks {
            s += "<text class=\"tick\" x=\"\(HTMLCharts.f(px(v)))\" y=\"\(HTMLCharts.f(y + 16))\" "
                + "text-anchor=\"middle\">" + HTML.escape(label) + "</text>"
        }
        s += "<text class=\"tick\" x=\"\(HTMLCharts.f(left + plotWidth / 2))\" y=\"\(HTMLCharts.f(y + 36))\" "
            + "text-anchor=\"middle\">" + HTML.escape(xLabel) + "</text>"
        return s
    }
}

extension CaptureSummary {
    /// First and last packet times over all files (nil when no packet).
    static func mergedSpan(_ files: [CaptureSummary]) -> (first: Timestamp?, last: Timestamp?) {
        let m = CaptureSummary.merged(files)
        return (m.first, m.last)
    }
}
