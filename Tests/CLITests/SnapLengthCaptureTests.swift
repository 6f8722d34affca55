import Foundation
import Testing
import TestSupport

/// A header-only capture (a snap length of 96 bytes, as `tcpdump -s 96` or `editcap -s 96` leaves): the payload
/// that names steps 3-6 was not captured, so their absence raises no `step-missing` (about 60 warnings on a
/// simulated fleet of 10 clients for an hour, before); `capture-truncated` still says the capture is cut.
@Suite struct SnapLengthCaptureTests {
    /// `path` (a little-endian pcap) with every frame cut to its first `snap` bytes, its original length kept.
    /// `dropping`: frames (counted from 0) left out, as a capture that lost them would.
    static func cut(_ path: String, to snap: Int, into folder: TemporaryFolder, name: String,
                    dropping: Set<Int> = []) throws -> String {
        let pcap = try #require(PcapFileRecords(path: path))
        var file = PcapBuilder(nanoseconds: pcap.nanoseconds, snapLength: UInt32(snap))
        for (index, r) in pcap.records.enumerated() where !dropping.contains(index) {
            file.record(seconds: r.seconds, fraction: r.fraction, data: Array(r.frame.prefix(snap)),
                        originalLength: r.originalLength)
        }
        let out = folder.path + "/" + name
        try Data(file.data).write(to: URL(fileURLWithPath: out))
        return out
    }

    @Test func aHeaderOnlyCaptureRaisesNoStepMissing() throws {
        let folder = try TemporaryFolder()
        let capture = folder.path + "/fleet.pcap"
        let made = CLIRun(["simulate", "-o", capture, "--clients", "10", "--duration", "1h", "--seed", "5", "-q"])
        #expect(made.status == 0, "\(made.stderr)")
        let whole = CLIRun(["analyze", "-q", "-F", "json", capture])
        #expect(try OneDirectionCaptureTests.findings(whole).allSatisfy { $0.code != "step-missing" })
        let snapped = try Self.cut(capture, to: 96, into: folder, name: "snap96.pcap")
        let run = CLIRun(["analyze", "-q", "-F", "json", snapped])
        let found = try OneDirectionCaptureTests.findings(run)
        #expect(!found.contains { $0.code == "step-missing" }, "\(found.filter { $0.code == "step-missing" })")
        #expect(found.contains { $0.code == "capture-truncated" && $0.message.contains("cut by the snap length") })
        // The check-ins are still there, one per check-in of the whole capture.
        let sessions = { (r: CLIRun) -> Int? in
            ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])
                .flatMap { $0["summary"] as? [String: Any] }?["sessions"] as? Int
        }
        #expect(sessions(run) == sessions(whole))
    }

    /// Cut to 96 or 128 bytes, the fleet that has neither finding whole raised `step-out-of-order` (3 and 7: TLS
    /// exchanges shaped by their captured bytes only) and, at 128, `idle-size-out-of-range` (10: plain-HTTP
    /// check-ins whose requests were not captured, so every answer fell in step 3, above the idle maximum).
    @Test(arguments: [96, 128])
    func aHeaderOnlyCaptureRaisesNoStepOutOfOrderNorIdleSize(snap: Int) throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", ["--clients", "10", "--duration", "1h", "--seed", "5"])
        let judged = ["step-out-of-order", "idle-size-out-of-range"]
        let whole = try OneDirectionCaptureTests.findings(CLIRun(["analyze", "-q", "-F", "json", capture]))
        #expect(!whole.contains { judged.contains($0.code) })
        let snapped = try Self.cut(capture, to: snap, into: folder, name: "snap\(snap).pcap")
        let found = try OneDirectionCaptureTests.findings(CLIRun(["analyze", "-q", "-F", "json", snapped]))
        #expect(!found.contains { judged.contains($0.code) }, "\(found.filter { judged.contains($0.code) })")
        #expect(found.contains { $0.code == "plaintext-http" })
    }

    /// The session count and the finding codes of `analyze -F json` on `path`.
    static func sessionsAndCodes(_ path: String) throws -> (sessions: Int?, codes: Set<String>) {
        let run = CLIRun(["analyze", "-q", "-F", "json", path])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let sessions = (json["summary"] as? [String: Any])?["sessions"] as? Int
        return (sessions, Set(try OneDirectionCaptureTests.findings(run).map(\.code)))
    }

    /// Cut at the end of the TCP header (54 bytes of an IPv4 frame), no payload byte is captured, so no protocol
    /// can be detected: a push connection had no exchanges, one check-in with a false `connect-timeout` (set up
    /// "after" the whole connection), and its check-ins were lost (48 of 48 fell to 0 here, no manager being
    /// inferred). The cut bytes' sizes and times make its bursts, as 6 captured bytes (a TLS record header) do.
    @Test func pushCheckInsSurviveACaptureCutAtTheTCPHeader() throws {
        let folder = try TemporaryFolder()
        let options = ["--clients", "4", "--duration", "1h", "--http-share", "0", "--push-share", "1", "--seed", "3"]
        let capture = try folder.simulatedCapture("push.pcap", options)
        let whole = try Self.sessionsAndCodes(capture)
        #expect(whole.sessions == 48)
        let cut = try Self.sessionsAndCodes(try Self.cut(capture, to: 54, into: folder, name: "snap54.pcap"))
        #expect(cut.sessions == whole.sessions)
        #expect(!cut.codes.contains("connect-timeout"), "\(cut.codes)")
        #expect(cut.codes.contains("capture-truncated"))
    }

    /// Cut inside the TCP header (40 bytes of an IPv4 frame: 6 of its 20), no packet can be read: they were
    /// counted with the cut packets whose headers were used (`truncated`), with no warning and no finding, the
    /// capture passing as one with no check-ins. Counted apart (`truncatedUnread`), warned of and a finding;
    /// cut after the headers (96 bytes), the packets are used and counted as before.
    @Test func packetsCutInsideTheirHeadersAreCountedApartAndWarnedOf() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", ["--clients", "2", "--duration", "30m", "--seed", "4"])
        let unread = try Self.cut(capture, to: 40, into: folder, name: "snap40.pcap")
        let run = CLIRun(["analyze", "-F", "json", unread])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let file = try #require((json["captures"] as? [[String: Any]])?.first)
        let packets = try #require(file["packets"] as? Int)
        #expect(packets > 0)
        #expect(file["truncated"] as? Int == 0)
        #expect(file["truncatedUnread"] as? Int == packets)
        #expect(run.stderr.contains("\(packets) packets were cut by the snap length inside their headers"))
        let found = try OneDirectionCaptureTests.findings(run)
        #expect(found.contains { $0.code == "capture-truncated" && $0.message.contains("could not be read") })
        let text = CLIRun(["analyze", "-q", "-F", "text", unread])
        #expect(text.stdout.contains("odd: cut inside their headers, not read \(packets)\n"), "\(text.stdout)")

        let snapped = try Self.cut(capture, to: 96, into: folder, name: "snap96.pcap")
        let used = CLIRun(["analyze", "-q", "-F", "json", snapped])
        let usedJSON = try #require(try JSONSerialization.jsonObject(with: Data(used.stdout.utf8)) as? [String: Any])
        let usedFile = try #require((usedJSON["captures"] as? [[String: Any]])?.first)
        #expect((usedFile["truncated"] as? Int ?? 0) > 0)
        #expect(usedFile["truncatedUnread"] == nil)
        #expect(!(try OneDirectionCaptureTests.findings(used)).contains { $0.message.contains("could not be read") })
    }

    /// Frames (counted from 0) of the little-endian pcap at `path` whose original length is over `bytes`.
    static func frames(of path: String, over bytes: UInt32) throws -> [Int] {
        let data = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> UInt32 {
            UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
        }
        var out: [Int] = []
        var at = 24
        var index = 0
        while at + 16 <= data.count {
            if u32(at + 12) > bytes { out.append(index) }
            at += 16 + Int(u32(at + 8))
            index += 1
        }
        return out
    }

    /// Bytes the snap length cut are no gap: each check-in of a fleet cut to 96 bytes said "9 gaps, 4811 bytes not
    /// captured" (`capture-gap`) beside its `capture-truncated`, though no packet was lost (120 of 120). Three
    /// data packets lost besides are three gaps, one on each check-in that lost one.
    @Test func bytesCutBySnapLengthAreNoGaps() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", ["--clients", "10", "--duration", "1h", "--seed", "5"])
        let cut = try OneDirectionCaptureTests.findings(
            CLIRun(["analyze", "-q", "-F", "json", try Self.cut(capture, to: 96, into: folder, name: "snap96.pcap")]))
        #expect(cut.contains { $0.code == "capture-truncated" })
        #expect(!cut.contains { $0.code == "capture-gap" }, "\(cut.filter { $0.code == "capture-gap" }.prefix(3))")

        let data = try Self.frames(of: capture, over: 150)
        try #require(data.count > 100)
        let lost: Set = [data[data.count / 5], data[data.count / 2], data[data.count * 4 / 5]]
        let lossy = try Self.cut(capture, to: 96, into: folder, name: "lossy.pcap", dropping: lost)
        let gaps = try OneDirectionCaptureTests.findings(CLIRun(["analyze", "-q", "-F", "json", lossy]))
            .filter { $0.code == "capture-gap" }
        #expect(gaps.count == 3)
        #expect(gaps.allSatisfy { $0.message.hasPrefix("1 gap, ") }, "\(gaps)")
    }

    /// A plain-HTTP fleet cut to 96, 128 or 160 bytes: the requests' start lines (cut inside the target at 96)
    /// make the servers managers (`inferred-http`), as whole, and the 503 whose status line was captured is
    /// still an `http-error` on its client, so the verdict is the whole capture's (it was `n/a`, no check-in
    /// recognised; with `--server`, `pass`). The check-ins, their steps and sizes are the whole capture's.
    @Test(arguments: [96, 128, 160])
    func aHeaderOnlyPlainHTTPCaptureKeepsItsCheckInsAndTheirStatus(snap: Int) throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", [
            "--clients", "10", "--duration", "1h", "--seed", "4", "--fault", "http-503", "--http-share", "1",
        ])
        func report(_ path: String) throws -> (json: [String: Any], status: Int32) {
            let run = CLIRun(["analyze", "-q", "-F", "json", path])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return (json, run.status)
        }
        func checkIns(_ json: [String: Any]) -> [String] {
            (json["sessions"] as? [[String: Any]] ?? []).map { s in
                let steps = (s["steps"] as? [[String: Any]] ?? []).map { "\($0["step"] ?? "")" }
                return "\(s["client"] ?? "") \(s["start"] ?? "") \(s["server"] ?? "") \(steps)"
            }
        }
        func httpErrors(_ json: [String: Any]) -> [String] {
            (json["findings"] as? [[String: Any]] ?? []).filter { $0["code"] as? String == "http-error" }
                .map { "\($0["client"] ?? "") \($0["message"] ?? "")" }
        }
        func sources(_ json: [String: Any]) -> [String] {
            (json["managers"] as? [[String: Any]] ?? []).map { "\($0["address"] ?? "") \($0["source"] ?? "")" }
        }
        let whole = try report(capture)
        let cut = try report(try Self.cut(capture, to: snap, into: folder, name: "snap\(snap).pcap"))
        #expect(cut.status == whole.status)
        #expect(httpErrors(whole.json).count == 1)
        #expect(httpErrors(cut.json) == httpErrors(whole.json))
        #expect(httpErrors(cut.json).first?.contains("503") == true)
        #expect(sources(cut.json) == sources(whole.json))
        #expect(sources(cut.json).allSatisfy { $0.hasSuffix("inferred-http") })
        let verdict = { (json: [String: Any]) in (json["summary"] as? [String: Any])?["verdict"] as? String }
        #expect(verdict(cut.json) == verdict(whole.json))
        let wholeCheckIns = checkIns(whole.json)
        #expect(wholeCheckIns.count == 121)
        // At 128 and 160 bytes one check-in's last upload is not found: its request begins a packet that follows the
        // previous upload's last packet, which the snap length did not cut and which did not end a line, so the
        // parser does not take that packet's start for a message start (as after any head it could not frame).
        let differing = zip(checkIns(cut.json), wholeCheckIns).filter { $0.0 != $0.1 }
        #expect(checkIns(cut.json).count == wholeCheckIns.count)
        #expect(differing.count <= (snap == 96 ? 0 : 1), "\(differing)")
    }

    /// Cut to 60 or 68 bytes (tcpdump's old default), a plain-HTTP request keeps a few bytes of its target
    /// (`/s…`, `/secars/se…`), too few to be told from the secars path: its connection is still a check-in, not
    /// a content download (before, all 120 of 120 were content downloads, verdict `n/a`, even with `--server`).
    @Test(arguments: [60, 68])
    func aTargetCutBeforeTheSecarsPathIsNoContentDownload(snap: Int) throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", [
            "--clients", "10", "--duration", "1h", "--seed", "3", "--http-share", "1",
        ])
        let cut = try Self.cut(capture, to: snap, into: folder, name: "snap\(snap).pcap")
        func summary(_ path: String) throws -> [String: Any] {
            let run = CLIRun(["analyze", "-q", "-F", "json", "--server", "10.1.0.10", "--server", "10.1.0.11", path])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return try #require(json["summary"] as? [String: Any])
        }
        let whole = try summary(capture)
        let snapped = try summary(cut)
        #expect(whole["sessions"] as? Int == 120)
        #expect(snapped["sessions"] as? Int == whole["sessions"] as? Int)
        #expect(snapped["verdict"] as? String == whole["verdict"] as? String)
    }

    /// A plain-HTTP capture cut before the requests' targets reach the secars path, with no manager named: the hint
    /// says the cut may hide the path, instead of only that no request carries it.
    @Test func theNoManagerHintNamesTheSnapLengthCut() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("http.pcap", [
            "--clients", "4", "--duration", "1h", "--seed", "3", "--http-share", "1",
        ])
        let cut = try Self.cut(capture, to: 68, into: folder, name: "cut68.pcap")
        let phrase = "request that could be read (the snap length cut this capture's packets: a request's target "
            + "may end before its path)"
        for command in ["analyze", "audit"] {
            let run = CLIRun([command, cut])
            let text = run.stdout.replacingOccurrences(of: "\n", with: " ")
            #expect(text.contains("No management server recognised"), "\(command)")
            #expect(text.contains(phrase), "\(command)")
        }
        let whole = CLIRun(["analyze", capture]).stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(!whole.contains("could be read"))
    }
}
