import Foundation
import Testing

@testable import Heartbeat

/// A SyLink.xml that is not well-formed XML is refused naming the line of its fault.
@Suite struct SyLinkErrorLineTests {
    /// The position after `parse()` returned was the file's last line, not the fault's.
    @Test func aMalformedFileNamesTheLineOfTheFault() {
        let xml = syLinkXML(extra: #"Kcs="1""#) + "\n<!-- a -->\n"
        do {
            _ = try parseSyLink(xml)
            Issue.record("a repeated attribute was parsed")
        } catch {
            #expect(error.description.hasPrefix("SyLink.xml: is not well-formed XML (error 42 at line 3, column "))
        }
    }
}
