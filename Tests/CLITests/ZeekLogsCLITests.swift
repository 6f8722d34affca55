import Foundation
import FuzzTargets
import Reports
import Testing

/// `analyze`, `audit` and `validate --zeek DIR` over small hand-written logs of a pull fleet: one plain-HTTP
/// client and one HTTPS client, the second missing a check-in; and the refusals.
@Suite struct ZeekLogsCLITests {
    static let start = 1_733_040_000

    /// Logs of two clients checking in every 300 s for 25 minutes; the HTTPS one skips its check-in at 600 s.
    /// conn.log has one row with a port that is none, and its last line is cut (a log being written).
    static func fleet(_ folder: TemporaryFolder) -> String {
        let logs = folder.path + "/zeek"
        try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        var conn = """
            #separator \\x09
            #set_separator\t,
            #empty_field\t(empty)
            #unset_field\t-
            #path\tconn
            #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t\
            resp_bytes\tconn_state\tlocal_orig\thistory\torig_pkts\tresp_pkts
            #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tstring\t\
            count\tcount

            """
        var http = """
            #separator \\x09
            #path\thttp
            #fields\tts\tuid\tmethod\thost\turi\tversion\tuser_agent\trequest_body_len\tresponse_body_len\t\
            status_code\tstatus_msg

            """
        var ssl = """
            {"ts":\(start + 1).05,"uid":"CS0","version":"TLSv12","server_name":"sepm.example.test","established":true}

            """
        for i in 0..<6 {
            let t = start + 300 * i
            conn += "\(t).100000\tCH\(i)\t10.20.0.1\t\(50000 + i)\t10.1.0.10\t8014\ttcp\thttp\t0.2\t133\t3700\tSF\t-\t"
                + "ShADadFf\t6\t6\n"
            http += "\(t).101000\tCH\(i)\tGET\t10.1.0.10\t/secars/secars.dll?h=ABCDEF\t1.1\tSmc\t0\t3583\t200\tOK\n"
            guard i != 2 else { continue }
            conn += "\(t + 1).000000\tCS\(i)\t10.20.0.2\t\(51000 + i)\t10.1.0.10\t443\ttcp\tssl\t0.3\t1014\t4549\tSF\t"
                + "-\tShADadFf\t8\t8\n"
            if i > 0 {
                ssl += "{\"ts\":\(t + 1).05,\"uid\":\"CS\(i)\",\"version\":\"TLSv12\","
                    + "\"server_name\":\"sepm.example.test\",\"established\":true}\n"
            }
        }
        conn += "\(start + 1700).0\tCX\t10.20.0.9\t99999\t10.1.0.10\t443\ttcp\tssl\t0.3\t1\t1\tSF\t-\tShADadFf\t8\t8\n"
        conn += "\(start + 1800).0\tCY\t10.20.0.1\t5"
        _ = folder.write("zeek/conn.log", conn)
        _ = folder.write("zeek/http.log", http)
        _ = folder.write("zeek/ssl.log", ssl)
        return logs
    }

    @Test func textReportOfAPullFleet() throws {
        let folder = try TemporaryFolder()
        let logs = Self.fleet(folder)
        let run = CLIRun(["analyze", "--color", "never", "--zeek", logs])
        #expect(run.status == 1, "a missed check-in is an error")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let head: [String] = [
            logs + ": Zeek logs, 11 TCP connections, 2024-12-01T08:00:00.100000Z to 2024-12-01T08:25:01.300000Z "
                + "(25 min 1 s)",
            "  conn.log: tsv, 12 rows, 1 skipped (id.orig_p is not a port: 1, first at line 19), last line 20 "
                + "cut short (a log being written), not read",
            "  http.log: tsv, 6 rows",
            "  ssl.log: json, 5 rows",
            "  not judged: " + LogSummaryReport.notInLogs,
        ]
        #expect(Array(lines.prefix(5)) == head)
        #expect(run.stdout.contains("Client 10.20.0.1: 6 check-ins"))
        #expect(run.stdout.contains("Client 10.20.0.2: 5 check-ins"))
        #expect(run.stdout.contains(
            "error   missed-heartbeat 10.20.0.2 2024-12-01T08:15:01.000Z: no check-in for 600 s"))
        #expect(run.stdout.contains("warning capture-gap: \(logs)/conn.log: 1 row was skipped as odd (the logs' "
            + "summary says why): their connections are left out, so check-ins among them may be missing"))
        #expect(run.stdout.contains("Verdict: fail (2 clients, 11 check-ins)"))
        // The sizes and steps Zeek does not keep raise nothing: only the miss, the plain HTTP and the odd row.
        let codes = ["missed-heartbeat", "plaintext-http", "capture-gap"]
        let findings = lines.drop { $0 != "Findings: 1 error, 2 warning, 0 info" }.dropFirst().prefix { !$0.isEmpty }
        #expect(findings.count == 3 && findings.allSatisfy { line in codes.contains { line.contains(" " + $0) } })
        #expect(run.stderr == "sepbeat analyze: warning: \(logs)/conn.log: 1 of 12 rows skipped as odd "
            + "(the report's summary lists why)\n")
    }

    @Test func jsonAuditAndValidate() throws {
        let folder = try TemporaryFolder()
        let logs = Self.fleet(folder)
        let analyze = CLIRun(["analyze", "-q", "-F", "json", "--zeek", logs])
        let object = try JSONSerialization.jsonObject(with: Data(analyze.stdout.utf8))
        let report = try #require(object as? [String: Any])
        let input = try #require((report["captures"] as? [[String: Any]])?.first)
        #expect(input["format"] as? String == "zeek")
        let conn = try #require((input["logs"] as? [[String: Any]])?.first)
        #expect(conn["rows"] as? Int == 12 && conn["skippedRows"] as? Int == 1 && conn["cutLastLine"] as? Int == 20)
        let audit = CLIRun(["audit", "-q", "--zeek", logs])
        #expect(audit.status == 1)
        #expect(audit.stdout.contains("ssl.log: json, 5 rows"))
        let validate = CLIRun(["validate", "-q", "-F", "html", "--zeek", logs])
        #expect(validate.status == 1)
        #expect(validate.stdout.contains("Zeek logs") && validate.stdout.contains("Not judged: Zeek"))
    }

    /// Logs compressed as Zeek's rotation leaves them read as the plain ones, through the decompressor of
    /// compressed captures; a cut one is an error naming it.
    @Test func compressedLogs() throws {
        let folder = try TemporaryFolder()
        let logs = Self.fleet(folder)
        let plain = CLIRun(["analyze", "-q", "-F", "json", "--zeek", logs])
        for (name, format) in [("conn.log", Compressor.Format.gzip), ("http.log", .xz), ("ssl.log", .bzip2)] {
            let bytes = try #require(FileManager.default.contents(atPath: logs + "/" + name))
            let suffix = format == .gzip ? ".gz" : format == .xz ? ".xz" : ".bz2"
            try Data(Compressor.compress(Array(bytes), as: format)).write(to: URL(fileURLWithPath: logs + "/" + name
                + suffix))
            try FileManager.default.removeItem(atPath: logs + "/" + name)
        }
        let compressed = CLIRun(["analyze", "-q", "-F", "json", "--zeek", logs])
        #expect(compressed.status == plain.status)
        // The same report, but for the logs' names.
        #expect(compressed.stdout == plain.stdout.replacingOccurrences(of: "zeek/conn.log", with: "zeek/conn.log.gz")
            .replacingOccurrences(of: "zeek/http.log", with: "zeek/http.log.xz")
            .replacingOccurrences(of: "zeek/ssl.log", with: "zeek/ssl.log.bz2"))
        let gz = try #require(FileManager.default.contents(atPath: logs + "/conn.log.gz"))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: logs + "/conn.log.gz"))
        let cut = CLIRun(["analyze", "-q", "--zeek", logs])
        #expect(cut.status == 3)
        #expect(cut.stderr == "sepbeat analyze: \(logs)/conn.log.gz: the gzip data ends before its end (the "
            + "compressed file is cut short)\n")
    }

    @Test func refusals() throws {
        let folder = try TemporaryFolder()
        let logs = Self.fleet(folder)
        let withCapture = CLIRun(["analyze", "--zeek", logs, heartbeatCapture("https-idle")])
        #expect(withCapture.status == 2)
        #expect(withCapture.stderr
            == "sepbeat analyze: --zeek reads logs, not packets: give it without capture files\n")
        #expect(CLIRun(["analyze", "--zeek", logs, "-f", "tcp"]).status == 2)
        let missing = CLIRun(["analyze", "--zeek", folder.path + "/none"])
        #expect(missing.status == 3)
        #expect(missing.stderr == "sepbeat analyze: \(folder.path)/none: no such folder\n")
        _ = folder.write("zeek/http.log", "#separator \\x09\n#path\thttp\n1\t2\n")
        let bad = CLIRun(["analyze", "--zeek", logs])
        #expect(bad.status == 3)
        #expect(bad.stderr == "sepbeat analyze: \(logs)/http.log:3: a row before the #fields header line\n")
    }

    /// `-o` naming a log read, another folder's Zeek log, or the model file is refused before any log is read
    /// (it replaced conn.log with the report, status 0); each log is left as it was.
    @Test func theReportOverwritesNoLogOrSetting() throws {
        let folder = try TemporaryFolder()
        let logs = Self.fleet(folder)
        let conn = try String(contentsOfFile: logs + "/conn.log", encoding: .utf8)
        let other = folder.write("other-conn.log", "#separator \\x09\n#path\tconn\n")
        let model = folder.write("model.json", "{}")
        let cases = [
            (logs + "/conn.log", "-o \(logs)/conn.log is one of the Zeek logs read (\(logs)/conn.log); the report "
                + "would overwrite it: give another output file"),
            (logs + "/./http.log", "-o \(logs)/./http.log is one of the Zeek logs read (\(logs)/http.log); the "
                + "report would overwrite it: give another output file"),
            (other, "-o \(other) is a Zeek log; the report would overwrite it: give another output file (or remove "
                + "it first)"),
        ]
        for (output, message) in cases {
            let run = CLIRun(["analyze", "-q", "--zeek", logs, "-o", output])
            #expect(run.status == 2, "\(output)")
            #expect(run.stderr == "sepbeat analyze: \(message)\n")
        }
        let run = CLIRun(["audit", "-q", "--zeek", logs, "--model", model, "-o", model])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("sepbeat audit: -o \(model) is the --model file"))
        #expect(try String(contentsOfFile: logs + "/conn.log", encoding: .utf8) == conn)
    }
}
