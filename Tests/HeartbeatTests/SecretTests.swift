import Foundation
import Testing

@testable import Heartbeat

/// The `Kcs` key from SyLink.xml must never reach any output: descriptions, errors, reports.
@Suite struct SecretTests {
    private func everyText(_ s: SyLinkFile) -> [String] {
        var dumped = ""
        dump(s, to: &dumped)
        return [s.description, s.debugDescription, String(describing: s), String(reflecting: s), dumped]
    }

    @Test func exampleKeyIsNotKept() throws {
        let s = try SyLinkFile.load(path: exampleSyLinkPath)
        #expect(s.kcsPresent)
        for text in everyText(s) { #expect(!text.contains(exampleKcs)) }
    }

    @Test func generatedKeyAppearsInNoOutput() throws {
        var rng = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in String(UInt8.random(in: 0...15, using: &rng), radix: 16).uppercased() }
            .joined()
        let s = try parseSyLink(syLinkXML(kcs: key))
        for text in everyText(s) { #expect(!text.contains(key)) }

        var f = RecordFactory()
        let records = (0..<3).map { f.idle(server: "198.51.100.1", start: at(Double($0) * 300)) }
            + [f.failed(server: "198.51.100.2", start: at(905), refused: true)]
        let report = analyze(records, sylink: s)
        let json = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(json.contains("198.51.100.1"))
        #expect(!json.contains(key))
        for finding in report.findings { #expect(!finding.description.contains(key)) }
    }

    @Test func errorsNeverQuoteTheKey() {
        let key = "F0E1D2C3B4A5968778695A4B3C2D1E0F"
        let broken = [
            // A bad port whose text is the key itself: the message must withhold it.
            syLinkXML(kcs: key, servers: #"<ServerPriorityBlock Name="Priority1"><Server Address="a" "#
                + #"HttpPort="\#(key)"/></ServerPriorityBlock>"#),
            // Cut off right after the key.
            (syLinkXML(kcs: key).components(separatedBy: "PushHeartbeat").first ?? "") + "Push",
            syLinkXML(kcs: key, mode: key),
            syLinkXML(kcs: key, push: key),
        ]
        for xml in broken {
            do {
                _ = try parseSyLink(xml)
                Issue.record("expected an error")
            } catch {
                #expect(!error.description.contains(key), "\(error.description)")
                #expect(!String(reflecting: error).contains(key))
                #expect(error.description.hasPrefix("SyLink.xml: "))
            }
        }
    }
}
