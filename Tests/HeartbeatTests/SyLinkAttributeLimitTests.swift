import Foundation
import Testing

@testable import Heartbeat

/// A start tag with a huge number of attributes kept libxml2 busy for minutes (its duplicate check compares each
/// attribute with every one before it): such a tag is refused before parsing.
@Suite struct SyLinkAttributeLimitTests {
    private func attributes(_ count: Int, value: String = "1") -> String {
        (0..<count).map { "A\($0)=\"\(value)\"" }.joined(separator: " ")
    }

    @Test func aTagWithTooManyAttributesIsRefused() {
        do {
            _ = try parseSyLink(syLinkXML(extra: attributes(SyLinkFile.maxAttributes + 1)))
            Issue.record("a tag of \(SyLinkFile.maxAttributes + 1) attributes was parsed")
        } catch {
            #expect(error.description == "SyLink.xml: line 3: <AgentCommunicationSetting> has more than 256 "
                + "attributes; SyLink elements have a dozen or so, and the XML parser's time grows with the square "
                + "of their number, so the file is refused")
        }
    }

    /// Up to the limit the file is read; an `=` inside a quoted value, a comment or a CDATA section is no attribute.
    @Test func equalSignsOutsideAttributesAreNotCounted() throws {
        let many = String(repeating: "a=b ", count: 400)
        let xml = syLinkXML(extra: attributes(SyLinkFile.maxAttributes - 5, value: many))
            .replacingOccurrences(of: "<CommConf>", with: "<CommConf><!-- <x \(many)> --><![CDATA[<y \(many)>]]>")
        let s = try parseSyLink(xml)
        #expect(s.servers.count == 2)
    }
}
