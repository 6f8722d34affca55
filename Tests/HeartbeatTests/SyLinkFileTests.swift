import Foundation
import Testing
import TestSupport

@testable import Heartbeat

/// The made-up example in the shared docs.
let exampleSyLinkPath = Fixtures.exampleSyLink
/// Its `Kcs` value: must never appear in any output.
let exampleKcs = "00112233445566778899AABBCCDDEEFF"

/// A SyLink.xml in the public layout with the given server lines and settings.
func syLinkXML(kcs: String = "A1B2C3D4E5F60718293A4B5C6D7E8F90", mode: String = "PULL", push: String = "300",
               servers: String? = nil, extra: String = "") -> String {
    let list = servers ?? """
        <ServerPriorityBlock Name="Priority1"><Server Address="198.51.100.1" HttpPort="8014" HttpsPort="443"/>
        </ServerPriorityBlock>
        <ServerPriorityBlock Name="Priority2"><Server Address="198.51.100.2" HttpPort="8014"/></ServerPriorityBlock>
        """
    return """
        <?xml version="1.0" encoding="UTF-8"?>
        <ServerSettings DomainId="D0" NameSpace="rpc"><CommConf>
        <AgentCommunicationSetting CommunicationMode="\(mode)" Kcs="\(kcs)" PushHeartbeatSeconds="\(push)" \(extra)/>
        <ServerList Name="Default">\(list)</ServerList></CommConf></ServerSettings>
        """
}

func parseSyLink(_ xml: String, name: String = "SyLink.xml") throws(SyLinkError) -> SyLinkFile {
    try SyLinkFile.parse(data: Data(xml.utf8), name: name)
}

@Suite struct SyLinkFileTests {
    private func problem(_ xml: String) -> String? {
        do {
            _ = try parseSyLink(xml)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func readsTheSharedExample() throws {
        let s = try SyLinkFile.load(path: exampleSyLinkPath)
        #expect(s.communicationMode == .pull)
        #expect(s.pushHeartbeatSeconds == 300)
        #expect(s.randomizationEnabled == false)
        #expect(s.randomizationRangeSeconds == 300)
        #expect(s.uploadLogHeartbeatSeconds == 300)
        #expect(s.alwaysConnect == true)
        #expect(s.kcsPresent)
        #expect(s.serverListName == "Default Management Server List")
        #expect(s.servers.map(\.address) == ["198.51.100.1", "198.51.100.2", "sepm-dr.example.net"])
        #expect(s.servers.map(\.priority) == [1, 2, 2])
        #expect(s.servers[0].httpPort == 8014 && s.servers[0].httpsPort == 443)
        #expect(s.servers[2].httpsPort == nil)
        #expect(s.servers[2].ipAddress == nil)
        #expect(s.servers[0].ipAddress == ip("198.51.100.1"))
    }

    @Test func ordersServersByPriorityNumber() throws {
        let s = try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority3"><Server Address="192.0.2.3"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Priority1"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            """))
        #expect(s.servers.map(\.address) == ["192.0.2.1", "192.0.2.3"])
        #expect(s.servers.map(\.priority) == [1, 3])
    }

    /// A block whose name ends in no number comes after every numbered block, in file order, whatever its place:
    /// before, it took its place among the blocks as its priority, so `Backup` second tied with `Priority2`.
    @Test func unnumberedBlocksComeAfterTheNumberedOnes() throws {
        let s = try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority1"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Backup"><Server Address="192.0.2.8"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Priority2"><Server Address="192.0.2.2"/></ServerPriorityBlock>
            <ServerPriorityBlock><Server Address="192.0.2.9"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Spare"></ServerPriorityBlock>
            """))
        #expect(s.servers.map(\.address) == ["192.0.2.1", "192.0.2.2", "192.0.2.8", "192.0.2.9"])
        #expect(s.servers.map(\.priority) == [1, 2, 3, 4])
        #expect(s.unnumberedBlocks == [.init(name: "Backup", line: 5, priority: 3),
                                       .init(name: "", line: 7, priority: 4)])
        #expect(s.unnumberedBlocksNote == "SyLink.xml: 2 ServerPriorityBlocks whose names end in no number are taken "
            + #"after every numbered block, in file order (PriorityN gives priority N): "Backup" (line 5): "#
            + "priority 3 and one with no Name (line 7): priority 4")
        // Unnumbered blocks alone keep their file order from 1, as before.
        let alone = try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Main"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Backup"><Server Address="192.0.2.2"/></ServerPriorityBlock>
            """))
        #expect(alone.servers.map(\.priority) == [1, 2])
        #expect(try parseSyLink(syLinkXML()).unnumberedBlocksNote == nil)
        // After the largest priority a model takes, an unnumbered block has none left: refused, not a model that
        // `sepbeat model` would print and could not read back.
        let past = problem(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority2147483647"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Backup"><Server Address="192.0.2.2"/></ServerPriorityBlock>
            """))
        #expect(past?.hasSuffix("would come after Priority2147483647, at priority 2147483648, past 2147483647, "
            + "so the file is refused: number the blocks") == true, "\(past ?? "parsed")")
    }

    /// A block with no number and no server takes no place among such blocks: before, it did, so `Backup` after an
    /// empty one came two after the largest block number, and after `Priority2147483646` the file was refused.
    @Test func anEmptyUnnumberedBlockTakesNoPriority() throws {
        let s = try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Spare"/>
            <ServerPriorityBlock Name="Priority1"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Backup"><Server Address="192.0.2.8"/></ServerPriorityBlock>
            """))
        #expect(s.servers.map(\.priority) == [1, 2])
        #expect(s.unnumberedBlocks == [.init(name: "Backup", line: 6, priority: 2)])
        let last = try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority2147483646"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Empty"></ServerPriorityBlock>
            <ServerPriorityBlock Name="Backup"><Server Address="192.0.2.8"/></ServerPriorityBlock>
            """))
        #expect(last.servers.map(\.priority) == [2_147_483_646, 2_147_483_647])
    }

    /// `Priority0` gave its servers priority 0, above every first choice, while a model file refuses a priority
    /// below 1: refused the same way, naming the line and the block.
    @Test func aBlockNumberedZeroIsRefused() throws {
        for name in ["Priority0", "Priority00"] {
            #expect(problem(syLinkXML(servers: """
                <ServerPriorityBlock Name="Priority1"><Server Address="192.0.2.1"/></ServerPriorityBlock>
                <ServerPriorityBlock Name="\(name)"><Server Address="192.0.2.0"/></ServerPriorityBlock>
                """)) == "SyLink.xml: line 5: <ServerPriorityBlock Name=\"\(name)\"> gives priority 0; priorities "
                + "count from 1 (Priority1 is the first choice), so the file is refused: number the blocks from 1")
        }
        #expect(try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority10"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            """)).servers.map(\.priority) == [10])
    }

    /// An empty file said `the root element is <none>` (a pipe gave libxml2's `error 4`).
    @Test func anEmptyFileIsSaidToBeEmpty() {
        #expect(problem("") == "SyLink.xml: is empty: a SyLink file holds <ServerSettings>")
        #expect(problem(" \n\t\r\n") == "SyLink.xml: holds only blanks: a SyLink file holds <ServerSettings>")
        #expect(problem("\u{FEFF}\n") == "SyLink.xml: holds only blanks: a SyLink file holds <ServerSettings>")
    }

    /// `Priority-2` was read as priority 2 and a number past any priority as a block in file order.
    @Test func aNegativeOrHugeBlockNumberIsRefused() throws {
        let cases = [("Priority-2", "priority -2; priorities count from 1"),
                     ("Priority-0", "priority 0; priorities count from 1"),
                     ("Priority99999999999999999999", "a priority past 2147483647"),
                     ("Priority2147483648", "a priority past 2147483647")]
        for (name, why) in cases {
            #expect(problem(syLinkXML(servers: """
                <ServerPriorityBlock Name="\(name)"><Server Address="192.0.2.0"/></ServerPriorityBlock>
                """)) == "SyLink.xml: line 4: <ServerPriorityBlock Name=\"\(name)\"> gives \(why) (Priority1 is the "
                + "first choice), so the file is refused: number the blocks from 1")
        }
        #expect(try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority2147483647"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            """)).servers.map(\.priority) == [2_147_483_647])
        // Blanks around a name are no part of it: either side, the block's number counts.
        #expect(try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority3 "><Server Address="192.0.2.3"/></ServerPriorityBlock>
            <ServerPriorityBlock Name=" Priority1"><Server Address="192.0.2.1"/></ServerPriorityBlock>
            """)).servers.map(\.priority) == [1, 3])
    }

    @Test func readsPushModeAndOptionalPullInterval() throws {
        let s = try parseSyLink(syLinkXML(mode: "PUSH", push: "120", extra: #"PullHeartbeatSeconds="900""#))
        #expect(s.communicationMode == .push)
        #expect(s.pushHeartbeatSeconds == 120)
        #expect(s.pullHeartbeatSeconds == 900)
    }

    /// Of two pull interval attributes with two values, 600 was taken without a word.
    @Test func twoDifferentPullIntervalsAreRefused() throws {
        #expect(problem(syLinkXML(extra: #"PullHeartbeatSeconds="600" HeartbeatSeconds="900""#))
            == #"SyLink.xml: PullHeartbeatSeconds="600" and HeartbeatSeconds="900" differ; which one a client "#
            + "goes by is not known, so the file is refused: keep one")
        #expect(try parseSyLink(syLinkXML(extra: #"PullHeartbeatSeconds="600" HeartbeatSeconds="600""#))
            .pullHeartbeatSeconds == 600)
        #expect(try parseSyLink(syLinkXML(extra: #"HeartbeatSeconds="900""#)).pullHeartbeatSeconds == 900)
    }

    /// A `Server` outside the server list (here under another element) became a manager; one in the list but in
    /// no priority block still is one, at priority 1.
    @Test func onlyServersOfTheListAreManagers() throws {
        let xml = syLinkXML().replacingOccurrences(of: "</CommConf>", with: "</CommConf>"
            + #"<Backup><ServerPriorityBlock Name="Priority1"><Server Address="192.0.2.9"/></ServerPriorityBlock>"#
            + #"<Server Address="192.0.2.8"/></Backup>"#)
        let parsed = try parseSyLink(xml)
        #expect(parsed.servers.map(\.address) == ["198.51.100.1", "198.51.100.2"])
        #expect(parsed.ignoredServers == [.init(address: "192.0.2.9", line: 6), .init(address: "192.0.2.8", line: 6)])
        let loose = syLinkXML(servers: #"<Server Address="192.0.2.7"/>"#
            + #"<ServerPriorityBlock Name="Priority2"><Server Address="192.0.2.2"/></ServerPriorityBlock>"#)
        // In the list but in no block: a manager at priority 1 (the blocks' nesting is not documented).
        let listed = try parseSyLink(loose).servers
        #expect(listed.map(\.address) == ["192.0.2.7", "192.0.2.2"])
        #expect(listed.map(\.priority) == [1, 2])
        #expect(try parseSyLink(syLinkXML(servers: #"<Server Address="192.0.2.7"/>"#)).servers.count == 1)
    }

    /// Servers outside the list are named, so that a user who took one for a manager learns why it is not one: at
    /// most four, then how many more; the key withheld, should an address hold it.
    @Test func ignoredServersAreNamedInOneLine() throws {
        let kcs = "A1B2C3D4E5F60718293A4B5C6D7E8F90"
        let outside = ["192.0.2.1", kcs, "192.0.2.3", "192.0.2.4", "192.0.2.5"]
            .map { #"<Server Address=""# + $0 + #""/>"# }
        let one = try parseSyLink(syLinkXML(kcs: kcs).replacingOccurrences(
            of: "</CommConf>", with: "</CommConf><Backup>\n" + outside[0] + "</Backup>"))
        #expect(one.ignoredServersNote == "SyLink.xml: a Server element outside the ServerList is ignored (only "
            + #"the list's servers are managers): "192.0.2.1" (line 7)"#)
        let five = try parseSyLink(syLinkXML(kcs: kcs).replacingOccurrences(
            of: "</CommConf>", with: "</CommConf>" + outside.joined(separator: "\n") + "<Server/>"))
        #expect(five.ignoredServers.map(\.line) == [6, 7, 8, 9, 10, 10])
        #expect(five.ignoredServers[5].address == nil)
        #expect(five.ignoredServersNote == "SyLink.xml: 6 Server elements outside the ServerList are ignored (only "
            + #"the list's servers are managers): "192.0.2.1" (line 6), "<key withheld>" (line 7), "192.0.2.3" "#
            + #"(line 8), "192.0.2.4" (line 9) and 2 more"#)
        #expect(try parseSyLink(syLinkXML()).ignoredServersNote == nil)
    }

    @Test func malformedFilesGiveClearErrors() {
        #expect(problem("<ServerSettings><CommConf>")?.hasPrefix("SyLink.xml: is not well-formed XML") == true)
        #expect(problem("<Other/>") == "SyLink.xml: is not a SyLink file: the root element is <Other>, "
            + "expected <ServerSettings>")
        #expect(problem(syLinkXML(mode: "SOMETIMES"))?.contains("CommunicationMode must be PUSH or PULL") == true)
        #expect(problem(syLinkXML(push: "soon"))?.contains("PushHeartbeatSeconds must be a whole number") == true)
        #expect(problem(syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1"><Server HttpPort="8014"/>"#
            + "</ServerPriorityBlock>"))?.contains("Server #1 (line") == true)
        #expect(problem(syLinkXML(servers: #"<ServerPriorityBlock Name="P1"><Server Address="a" HttpPort="x"/>"#
            + "</ServerPriorityBlock>"))?.contains("HttpPort must be a port number 1-65535, got \"x\"") == true)
        #expect(problem(syLinkXML(servers: ""))?.contains("lists no Server") == true)
    }

    /// `--server` refuses a sign in a port; `UInt16("+443")` is 443, so a SyLink port took one.
    @Test func portsAreDigitsOnly() {
        for text in ["+443", "-0", "443a", "0x1bb", "4_43"] {
            let xml = syLinkXML(servers: #"<ServerPriorityBlock Name="P1"><Server Address="a" HttpsPort=""#
                + text + #""/></ServerPriorityBlock>"#)
            #expect(problem(xml) == "SyLink.xml: Server #1 (line 4) HttpsPort must be a port number 1-65535, got "
                + "\"\(text)\"")
        }
        #expect(problem("")?.hasPrefix("SyLink.xml:") == true)
    }

    /// Found by fuzzing: Foundation's XMLParser trapped (SIGILL) on an element name holding a byte
    /// that is not UTF-8, so `sepbeat model --sylink` crashed instead of exiting with status 2.
    @Test func invalidUTF8IsRefusedBeforeParsing() {
        let minimised: [UInt8] = [0x3c, 0x53, 0xb7, 0x38, 0x39, 0x43]  // `<S`, 0xB7, `89C`
        for bytes in [minimised, Array(syLinkXML().utf8.prefix(60)) + [0xb7, 0x41]] {
            #expect(throws: SyLinkError.self) { try SyLinkFile.parse(data: Data(bytes), name: "bad.xml") }
            do {
                _ = try SyLinkFile.parse(data: Data(bytes), name: "bad.xml")
            } catch {
                #expect(error.problem.hasPrefix("is not valid UTF-8 (byte offset"))
            }
        }
        #expect(SyLinkFile.invalidUTF8Offset(in: Data([0x3c, 0x53, 0xb7])) == 2)
        #expect(SyLinkFile.invalidUTF8Offset(in: Data(syLinkXML().utf8)) == nil)
    }

    /// Found by fuzzing: a processing instruction without data (`<?a?>`, well-formed XML) made
    /// Foundation's XMLParser read a C string at address 0, so `sepbeat model --sylink` died (SIGSEGV).
    @Test func processingInstructionWithoutDataIsRefusedBeforeParsing() {
        for text in ["<?a?>", "<?xml version=\"1.0\"?><?pi?><S/>", syLinkXML() + "<?end?>"] {
            do {
                _ = try SyLinkFile.parse(data: Data(text.utf8), name: "pi.xml")
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.problem.hasPrefix("has a processing instruction <?"))
            }
        }
        #expect(SyLinkFile.dataLessProcessingInstruction(in: Data("<S><?pi?></S>".utf8)) == "pi")
        // With data, in a comment or in CDATA it is no processing instruction the parser trips on.
        for text in ["<?a b?><S/>", "<?a ?><S/>", "<!-- <?a?> --><S/>", "<S><![CDATA[<?a?>]]></S>", syLinkXML()] {
            #expect(SyLinkFile.dataLessProcessingInstruction(in: Data(text.utf8)) == nil, "\(text)")
        }
    }

    @Test func anotherDeclaredEncodingIsLeftToTheParser() throws {
        let latin1 = Array(#"<?xml version="1.0" encoding="ISO-8859-1"?>"#.utf8)
        #expect(SyLinkFile.declaredEncoding(in: Data(latin1)) == "ISO-8859-1")
        #expect(SyLinkFile.invalidUTF8Offset(in: Data(latin1 + [0x3c, 0x53, 0xb7])) == nil)
        #expect(SyLinkFile.declaredEncoding(in: Data(syLinkXML().utf8)) == "UTF-8")
        // An encoding libxml2 does not know is read as UTF-8 (it trapped the same way).
        let unknown = Array(#"<?xml version="1.0" encoding="UTF-0"?>"#.utf8) + [0x3c, 0x53, 0xb7]
        #expect(SyLinkFile.invalidUTF8Offset(in: Data(unknown)) == unknown.count - 1)
    }

    /// The checks before parsing read UTF-8 or UTF-16 with a byte-order mark; libxml2 also reads UTF-16
    /// without one and switches to the encoding a declaration names. In such a file an entity was
    /// declared and expanded unseen, and a processing instruction without data crashed the parser (SIGSEGV).
    @Test func encodingsTheChecksCannotReadAreRefused() throws {
        let pi = syLinkXML().replacingOccurrences(of: "<CommConf>", with: "<?pi?><CommConf>")
        let entity = syLinkXML().replacingOccurrences(
            of: "<ServerSettings", with: #"<!DOCTYPE ServerSettings [<!ENTITY a "192.0.2.9">]><ServerSettings"#)
        for text in [pi, entity] {
            let utf16NoMark = Data(text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
            let utf7 = text.replacingOccurrences(of: "UTF-8", with: "UTF-7")
            for (data, start) in [(utf16NoMark, "holds a zero byte at byte offset 1"),
                                  (Data(utf7.utf8), "declares the encoding \"UTF-7\""),
                                  (Data([0xEF, 0xBB, 0xBF] + Array(utf7.utf8)), "declares the encoding \"UTF-7\"")] {
                do {
                    _ = try SyLinkFile.parse(data: data, name: "x.xml")
                    Issue.record("accepted: \(start)")
                } catch {
                    #expect(error.problem.hasPrefix(start), "\(error.problem)")
                }
            }
        }
        // UTF-16 with a byte-order mark, and UTF-8 with one, are read as before.
        let utf16 = try #require(syLinkXML().data(using: .utf16))
        #expect(try SyLinkFile.parse(data: utf16, name: "x.xml").servers.count == 2)
        #expect(try SyLinkFile.parse(data: Data([0xEF, 0xBB, 0xBF] + Array(syLinkXML().utf8)), name: "x.xml")
            .servers.count == 2)
    }

    /// Attribute names are read without regard to case, and the parser gives attributes unordered: of
    /// two spellings of one name, which value counted changed from run to run.
    @Test func oneAttributeUnderTwoSpellingsIsRefused() {
        let servers = #"<ServerPriorityBlock Name="Priority1"><Server Address="192.0.2.1" ADDRESS="192.0.2.2"/>"#
            + "</ServerPriorityBlock>"
        #expect(problem(syLinkXML(servers: servers)) == "SyLink.xml: line 4: <Server> gives one attribute under "
            + "several spellings (ADDRESS, Address); names are read without regard to case, so which one counts "
            + "is not known: keep one")
        let push = problem(syLinkXML(extra: #"pushheartbeatseconds="30""#))
        #expect(push?.contains("(PushHeartbeatSeconds, pushheartbeatseconds)") == true)
        #expect(push?.contains("A1B2C3D4E5F60718293A4B5C6D7E8F90") == false)
        // Attributes of elements that are not read may repeat.
        let unread = syLinkXML().replacingOccurrences(
            of: "<ServerList", with: #"<RegisterClient PreferredGroup="a" preferredgroup="b"/><ServerList"#)
        #expect(problem(unread) == nil)
    }

    @Test func missingFileNamesThePath() {
        do {
            _ = try SyLinkFile.load(path: "/nonexistent/SyLink.xml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/SyLink.xml: cannot be read (missing or not a file)")
            #expect(error.exitStatus == 2)
        }
    }
}
