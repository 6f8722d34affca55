import Foundation
import Testing
import TestSupport

/// A newcomer's audit of a mixed fleet: pull clients every 600 s, most HTTPS clients in push mode every 300 s, and
/// one client each with a missed check-in, an HTTP 400, a failover, an upload over the cap and an accelerated
/// check-in. Every client's intervals are healthy but the missed one's.
@Suite struct MixedFleetAuditTests {
    /// The fleet's capture, in `folder`: 16 clients over 2 h (10.20.0.2 misses a check-in, 10.20.0.8 is answered
    /// 400, 10.20.0.12 has a connect refused then fails over, 10.20.0.1 uploads over the cap, 10.20.0.16 checks in
    /// accelerated once; the HTTP ones are warned for plain HTTP; 11 push clients with no finding).
    private static func fleet(_ folder: TemporaryFolder) throws -> String {
        try folder.simulatedCapture("mix.pcap", [
            "--clients", "16", "--duration", "2h", "--interval", "600", "--push-share", "0.8", "--http-share", "0.4",
            "--seed", "3", "--fault", "http-400", "--fault", "failover", "--fault", "missed", "--fault", "accelerated",
            "--fault", "oversize-upload",
        ])
    }

    /// The part of `html` from the section titled `title` to its end.
    private static func section(_ html: String, _ title: String) throws -> String {
        let start = try #require(html.range(of: "<h2>\(title)</h2>"))
        let end = try #require(html.range(of: "</section>", range: start.upperBound..<html.endIndex))
        return String(html[start.upperBound..<end.lowerBound])
    }

    /// The observed median gap is of pull gaps, against the pull interval it sits under; push ones get their own.
    @Test func theObservedMedianGapIsOfPullGapsWithPushApart() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.fleet(folder)
        let text = sepbeat("audit", "-q", "--interval", "600", capture).stdout
        let line = try #require(text.split(separator: "\n").map(String.init).first {
            $0.hasPrefix("Observed median gap")
        })
        #expect(line.range(of: #"^Observed median gap 6\d\d(\.\d+)? s \(\d+ gaps between a client's pull check-ins, "#
            + #"accelerated ones included\); push [23]\d\d(\.\d+)? s \(\d+ gaps\)$"#,
            options: .regularExpression) != nil, "\(line)")
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(sepbeat("audit", "-q", "-F", "json", "--interval", "600", capture).stdout.utf8))
            as? [String: Any])
        let fleet = try #require(json["fleet"] as? [String: Any])
        let pull = try #require(fleet["observedMedianGapSeconds"] as? Double)
        let push = try #require(fleet["observedPushMedianGapSeconds"] as? Double)
        #expect(abs(pull - 600) < 30 && abs(push - 300) < 30, "\(fleet)")
        #expect((fleet["observedGaps"] as? Int ?? 0) + (fleet["observedPushGaps"] as? Int ?? 0) > 250)
        // The same line in the HTML summary.
        let html = sepbeat("audit", "-q", "-F", "html", "--interval", "600", capture).stdout
        #expect(html.contains("<p>" + line.replacingOccurrences(of: "'", with: "&#39;") + ".</p>"), "\(line)")
    }

    /// Each gap of the histogram is coloured by its own verdict: healthy push gaps at 300 s on time against the push
    /// band (drawn too), the missed gap in the error colour; no gap of this fleet is late or early.
    @Test func theIntervalHistogramColoursEachGapByItsOwnVerdict() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.fleet(folder)
        let html = sepbeat("audit", "-q", "-F", "html", "--interval", "600", capture).stdout
        let chart = try Self.section(html, "Intervals")
        #expect(chart.contains(">push 300 s ± 30 s</text>"), "\(chart)")
        #expect(chart.contains(">pull 600 s ± 30 s</text>"), "\(chart)")
        #expect(!chart.contains("class=\"m-warn\""), "\(chart)")
        #expect(chart.contains("class=\"m-error\""), "\(chart)")
        #expect(chart.contains("class=\"m-ok\""), "\(chart)")
    }

    /// The timeline draws the clients with findings first (errors, then warnings), healthy push clients last,
    /// whatever their periodicity score.
    @Test func theTimelineRanksClientsByHealthAndFindingsFirst() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.fleet(folder)
        let html = sepbeat("audit", "-q", "-F", "html", "--interval", "600", capture).stdout
        let timeline = try Self.section(html, "Check-ins per client")
        // Each row's label: `<text class="lbl" ... text-anchor="end">10.20.0.2</text>`.
        let rows = timeline.components(separatedBy: "<text class=\"lbl\"").dropFirst().compactMap {
            $0.split(separator: ">", maxSplits: 1).last?.split(separator: "<").first.map(String.init)
        }
        #expect(rows.count == 16, "\(rows)")
        #expect(Set(rows.prefix(3)) == ["10.20.0.2", "10.20.0.8", "10.20.0.12"], "\(rows)")
        #expect(Set(rows.prefix(5)) == ["10.20.0.2", "10.20.0.8", "10.20.0.12", "10.20.0.1", "10.20.0.16"],
                "\(rows)")
    }

    /// `failed` says what it counts, and the check-ins answered with an HTTP error and the refused connects are
    /// counted beside it (text, HTML tiles, JSON).
    @Test func failedSaysWhatItCountsBesideErrorsAndRefusals() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.fleet(folder)
        let text = sepbeat("audit", "-q", "--interval", "600", capture).stdout
        #expect(text.contains(" check-ins, 0 failed (no connect, TLS handshake or answer), 1 answered with an HTTP "
            + "error, 1 connect refused, 1 missed\n"), "\(text)")
        let html = sepbeat("audit", "-q", "-F", "html", "--interval", "600", capture).stdout
        for tile in ["failed (no connect, TLS handshake or answer)", "check-ins answered with HTTP errors",
                     "connects refused"] {
            #expect(html.contains("<div class=\"cap\">\(tile)</div>"), "\(tile)")
        }
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(sepbeat("audit", "-q", "-F", "json", "--interval", "600", capture).stdout.utf8))
            as? [String: Any])
        let fleet = try #require(json["fleet"] as? [String: Any])
        #expect(fleet["failed"] as? Int == 0 && fleet["httpErrorCheckIns"] as? Int == 1
            && fleet["refusedConnects"] as? Int == 1, "\(fleet)")
    }

    /// Each accelerated range sits with its own mode in the expectations line.
    @Test func theExpectationsLineKeepsEachRangeWithItsMode() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.fleet(folder)
        let same = sepbeat("audit", "-q", "--interval", "600", capture).stdout
        #expect(same.contains("\nExpected interval 600 s (from option) ± 30 s, accelerated 0-60 s for at most 300 s; "
            + "push 300 s, the same tolerance and accelerated range\n"), "\(same)")
        // A 100 s pull interval: its rules are derived from it; the push interval's are the model's.
        let other = sepbeat("audit", "-q", "--interval", "100", capture).stdout
        let line = "Expected interval 100 s (from option) ± 10 s, accelerated 0-20 s for at most 100 s; push 300 s "
            + "± 30 s, accelerated 0-60 s for at most 300 s"
        #expect(other.contains("\n" + line + "\n"), "\(other)")
        let validate = sepbeat("validate", "-q", "--interval", "100", capture).stdout
        #expect(validate.contains("\n" + line + "\n"), "\(validate)")
        let html = sepbeat("audit", "-q", "-F", "html", "--interval", "100", capture).stdout
        #expect(html.contains("<p>" + line + ".</p>"), "\(line)")
    }

    /// The gone-silent line gives the severity the model sets for `went-silent`.
    @Test func theGoneSilentLineTakesItsSeverityFromTheModel() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("silent.pcap", [
            "--clients", "6", "--interval", "20", "--duration", "10m", "--fault", "silent=2", "--seed", "4",
        ])
        let model = folder.write("strict.json", """
            {"severities": {"went-silent": "error"}}
            """)
        let strict = sepbeat("audit", "-q", "--interval", "20", "--model", model, capture)
        #expect(strict.stdout.contains("): went-silent, an error\n"), "\(strict.stdout) \(strict.stderr)")
        let lenient = sepbeat("audit", "-q", "--interval", "20", capture).stdout
        #expect(lenient.contains("): went-silent, a warning\n"), "\(lenient)")
    }
}
