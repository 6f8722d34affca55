import Foundation
import Testing

@testable import Heartbeat

/// SyLink.xml holds one `CommConf`, with one `AgentCommunicationSetting` and one `ServerList`. Of two, the
/// parser kept the last settings and merged both lists' servers without a word; a client goes by one, and
/// which one is not known, so such a file is refused naming the line of each.
@Suite struct RepeatedSyLinkElementTests {
    private func problem(_ xml: String) -> String? {
        do {
            _ = try parseSyLink(xml)
            return nil
        } catch {
            #expect(error.exitStatus == 2)
            return error.description
        }
    }

    @Test func aSecondCommConfIsRefused() {
        let one = syLinkXML()
        let body = one[one.range(of: "<CommConf>")!.lowerBound..<one.range(of: "</ServerSettings>")!.lowerBound]
        let two = one.replacingOccurrences(of: "</ServerSettings>", with: "\n" + body + "</ServerSettings>")
        #expect(problem(two) == "SyLink.xml: line 7: a second <CommConf> (the first on line 2); a client goes by "
            + "one, and which is not known, so the file is refused: keep the one the client uses")
    }

    @Test func aSecondSettingOrServerListInOneCommConfIsRefused() {
        let setting = syLinkXML().replacingOccurrences(
            of: "<ServerList", with: "<AgentCommunicationSetting CommunicationMode=\"PUSH\"/>\n<ServerList")
        #expect(problem(setting)?.hasPrefix("SyLink.xml: line 4: a second <AgentCommunicationSetting> (the first on "
            + "line 3)") == true)
        let list = syLinkXML().replacingOccurrences(
            of: "</CommConf>", with: "\n<ServerList Name=\"Other\"><ServerPriorityBlock Name=\"Priority1\">"
                + "<Server Address=\"203.0.113.1\"/></ServerPriorityBlock></ServerList></CommConf>")
        #expect(problem(list)?.hasPrefix("SyLink.xml: line 7: a second <ServerList> (the first on line 4)") == true,
                "\(problem(list) ?? "accepted")")
    }

    @Test func theKeyIsNeverQuotedAndOneOfEachIsFine() throws {
        let kcs = "F00DF00DF00DF00DF00DF00DF00DF00D"
        let one = syLinkXML(kcs: kcs)
        let two = one.replacingOccurrences(of: "</CommConf>", with: "</CommConf><CommConf/>")
        #expect(problem(two)?.contains(kcs) == false)
        #expect(problem(two)?.contains("a second <CommConf>") == true)
        #expect(problem(one) == nil)
        #expect(try SyLinkFile.load(path: exampleSyLinkPath).servers.count == 3)
    }
}
