import Capture
import Core
import Decoding
import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport

/// Captures that start after the TLS handshakes (a SPAN port switched on mid-connection): the
/// record-layer version of the application data still tells the TLS version, so `analyze` and
/// `validate` judge it.
@Suite struct RecordLayerVersionCLITests {
    /// A simulated all-TLS pull fleet (`old-tls`: one client on TLS 1.0), and the same capture with every
    /// packet of a connection before its first application-data record dropped.
    static func fleet(_ dir: TemporaryFolder, oldTLS: Bool) throws -> (whole: String, trimmed: String) {
        let whole = dir.path + "/fleet.pcap"
        let made = CLIRun(["simulate", "-q", "-o", whole, "--clients", "4", "--duration", "1h", "--seed", "5",
                           "--http-share", "0", "--push-share", "0"] + (oldTLS ? ["--fault", "old-tls"] : []))
        try #require(made.status == 0, "simulate: \(made.stderr)")
        let trimmed = dir.path + "/fleet-mid.pcap"
        try trim(whole, to: trimmed)
        return (whole, trimmed)
    }

    /// Copies `path` to `output` without the packets of each connection before its first segment
    /// that starts with an application-data record header (content type 23).
    static func trim(_ path: String, to output: String) throws {
        let source = try CaptureReader.open(path: path)
        var decoder = PacketDecoder()
        var started: Set<[Endpoint]> = []
        var writer: PcapFileWriter?
        var kept = 0
        var dropped = 0
        while let p = try source.next() {
            if writer == nil { writer = try PcapFileWriter(path: output, linkType: p.linkType) }
            var keep = false
            guard case .tcp(let segment) = decoder.decode(linkType: p.linkType, bytes: p.bytes,
                                                          originalLength: p.originalLength,
                                                          timestamp: p.timestamp) else { continue }
            let key = [segment.source, segment.destination].sorted { $0.description < $1.description }
            if started.contains(key) {
                keep = true
            } else if segment.payload.count >= 5, segment.payload[0] == 23, segment.payload[1] == 3 {
                started.insert(key)
                keep = true
            }
            if keep {
                try writer?.append(timestamp: p.timestamp, bytes: p.bytes, originalLength: p.originalLength)
                kept += 1
            } else {
                dropped += 1
            }
        }
        try writer?.close()
        #expect(kept > 0 && dropped > 0, "kept \(kept), dropped \(dropped)")
    }

    static func tlsVersionCheck(_ capture: String) throws -> (status: Int32, check: [String: Any]) {
        let run = CLIRun(["validate", "-q", "-F", "json", capture])
        let checks = try jsonObject(run.stdout)["checks"] as? [[String: Any]] ?? []
        return (run.status, try #require(checks.first { $0["id"] as? String == "tls-version" }))
    }

    @Test func tls10CheckInsWhoseHandshakesWereNotCapturedAreBelowTheMinimum() throws {
        let dir = try TemporaryFolder()
        let (whole, trimmed) = try Self.fleet(dir, oldTLS: true)

        // No hello is left, and the record layer says 1.0 for the old client's connections.
        let flows = try jsonObject(CLIRun(["flows", "-q", "-F", "json", "--tls", trimmed]).stdout)
        let summaries = (flows["connections"] as? [[String: Any]] ?? []).compactMap { $0["tls"] as? [String: Any] }
        #expect(!summaries.isEmpty)
        #expect(summaries.allSatisfy { $0["negotiatedVersion"] is NSNull && $0["clientVersion"] is NSNull })
        let recordVersions = Set(summaries.compactMap { $0["recordVersion"] as? String })
        #expect(recordVersions == ["1.0", "1.2"])
        let text = CLIRun(["flows", "-q", "--tls", trimmed]).stdout
        #expect(text.contains("TLS client offers -, server chose -, record layer 1.0"))

        let analyze = CLIRun(["analyze", "-q", "-F", "json", trimmed])
        #expect(analyze.status == 1)
        let findings = try jsonObject(analyze.stdout)["findings"] as? [[String: Any]] ?? []
        let old = findings.filter { $0["code"] as? String == "tls-below-1.2" }
        #expect(old.count == 1)
        let message = old.first?["message"] as? String ?? ""
        #expect(message.contains("used TLS 1.0, below the minimum 1.2 (version from the record layer"), "\(message)")

        // validate fails tls-version on the trimmed capture as on the whole one, for the same client.
        let (status, check) = try Self.tlsVersionCheck(trimmed)
        let (wholeStatus, wholeCheck) = try Self.tlsVersionCheck(whole)
        #expect(status == 1 && wholeStatus == 1)
        #expect(check["result"] as? String == "fail")
        #expect(wholeCheck["result"] as? String == "fail")
        #expect(check["examples"] as? [String] == wholeCheck["examples"] as? [String])
        #expect((check["detail"] as? String ?? "").contains("with the version from the record layer only"))
        let row = CLIRun(["validate", "-q", trimmed]).stdout.split(separator: "\n").first { $0.contains("tls-version") }
        #expect(row?.contains("FAIL") == true)
    }

    @Test func tls12MidstreamCapturePassesTheCheckFromTheRecordLayer() throws {
        let dir = try TemporaryFolder()
        let (_, trimmed) = try Self.fleet(dir, oldTLS: false)
        let (status, check) = try Self.tlsVersionCheck(trimmed)
        #expect(status == 0)
        #expect(check["result"] as? String == "pass")
        let detail = check["detail"] as? String ?? ""
        #expect(detail.hasPrefix("no finding; TLS versions of "), "\(detail)")
        #expect(detail.hasSuffix(" from the record layer only"), "\(detail)")
        let text = CLIRun(["validate", "-q", trimmed]).stdout
        #expect(text.contains("TLS 1.2 or later (the model's minimum): no finding; TLS versions of "))
        #expect(!CLIRun(["analyze", "-q", "-F", "json", trimmed]).stdout.contains("tls-below-1.2"))
    }

    /// validate's tls-version over hand-made check-ins of 10.0.0.1..3: `versions[k]` gives check-in k's
    /// hello version and record-layer version (nil: not seen).
    static func validation(_ versions: [(hello: UInt16?, record: UInt16?)]) throws -> DeploymentValidation.Check? {
        var f = FleetRecords()
        for (k, v) in versions.enumerated() {
            f.idle("10.0.0.\(k + 1)", at: Double(k) * 300)
            let last = f.records.count - 1
            var summary = TLSSummary()
            summary.clientVersion = v.hello
            summary.negotiatedVersion = v.hello
            summary.recordVersion = v.record
            f.records[last].tls = summary
        }
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var builder = SessionBuilder(model: model)
        for r in f.records { builder.ingest(r) }
        let report = builder.finish()
        let v = DeploymentValidation(report: report, audit: FleetAudit(report: report, model: model))
        return v.checks.first { $0.id == "tls-version" }
    }

    @Test func tlsVersionCheckSaysWhereTheVersionsCameFrom() throws {
        let none = try #require(try Self.validation([(nil, nil), (nil, nil)]))
        #expect(none.result == "n/a")
        #expect(none.detail == "not checked: the TLS version of none of 2 check-ins is known "
            + "(no hello seen, no application-data record with a real record-layer version framed)")

        let mixed = try #require(try Self.validation([(0x0303, 0x0303), (nil, 0x0303), (nil, nil)]))
        #expect(mixed.result == "pass")
        #expect(mixed.detail == "no finding; TLS versions of 3 check-ins: 1 from a hello, "
            + "1 from the record layer only, 1 unknown, not judged")
        #expect(mixed.detailShownWhenPassed)

        let hellos = try #require(try Self.validation([(0x0303, 0x0303), (0x0304, 0x0303)]))
        #expect(hellos.result == "pass")
        #expect(hellos.detail == "no finding")
        #expect(!hellos.detailShownWhenPassed)

        let old = try #require(try Self.validation([(0x0303, 0x0303), (nil, 0x0302)]))
        #expect(old.result == "fail")
        #expect(old.examples == ["10.0.0.2"])
        #expect(old.detail.hasSuffix("; 1 check-in with the version from the record layer only"))

        // Records below the hellos' version (an anomaly on the wire) judge the check-in.
        let below = try #require(try Self.validation([(0x0303, 0x0303), (0x0303, 0x0301)]))
        #expect(below.result == "fail")
        #expect(below.examples == ["10.0.0.2"])
        #expect(below.detail.hasSuffix("; 1 check-in with the version from the record layer, below the hellos'"))

        // A failed check says how many check-ins were not judged, as a passed one does.
        let unknown = try #require(try Self.validation([(0x0301, 0x0301), (nil, 0x0303), (nil, nil), (nil, nil)]))
        #expect(unknown.result == "fail")
        #expect(unknown.examples == ["10.0.0.1"])
        #expect(unknown.detail.hasSuffix("; 1 check-in with the version from the record layer only; 2 unknown, "
            + "not judged"), "\(unknown.detail)")
        #expect(!old.detail.contains("unknown"))
    }
}
