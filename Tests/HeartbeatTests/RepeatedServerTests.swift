import Foundation
import Testing

@testable import Heartbeat

/// A manager named twice (by `--server`, SyLink.xml or the model file) is one manager: `sepbeat model` prints it
/// once, so the file it writes is read back (the model file refuses a repeated server), and the analysis lists an
/// unresolved name in one row.
@Suite struct RepeatedServerTests {
    @Test func aServerGivenTwiceIsListedOnce() throws {
        let m = try ReferenceModel.builtIn.withServer("10.0.0.1").withServer("10.0.0.1")
            .withServer("sepm.example:443").withServer("SEPM.example.:443").withServer("::ffff:10.0.0.2")
            .withServer("10.0.0.2")
        #expect(m.servers.map(\.host) == ["10.0.0.1", "sepm.example", "10.0.0.2"])
        try m.validate(file: "printed")
    }

    @Test func aSyLinkServerTwiceOrOnTwoEqualPortsIsListedOnce() throws {
        let sylink = try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority1"><Server Address="198.51.100.1" HttpPort="443" HttpsPort="443"/>
            </ServerPriorityBlock>
            <ServerPriorityBlock Name="Priority2"><Server Address="198.51.100.1" HttpPort="8014" HttpsPort="443"/>
            </ServerPriorityBlock>
            """))
        let m = ReferenceModel.builtIn.merging(sylink: sylink)
        #expect(m.servers.map(\.port) == [443, 8014])
        // The better priority of the two, as a connection to it is matched with.
        #expect(m.servers.map(\.priority) == [1, 2])
        try m.validate(file: "printed")
    }

    /// `--server` wins over SyLink.xml, which wins over the model file: the entry the analysis goes by is kept.
    @Test func theEntryKeptIsTheOneTheAnalysisGoesBy() throws {
        var model = ReferenceModel.builtIn
        model.servers = [.init(host: "198.51.100.2", port: 8014, priority: 3, origin: "model")]
        let sylink = try parseSyLink(syLinkXML())
        let m = try model.withServer("198.51.100.1:443").merging(sylink: sylink)
        #expect(m.servers.map { "\($0.host):\($0.port ?? 0) \($0.origin ?? "-") \($0.priority ?? 0)" } == [
            "198.51.100.2:8014 sylink 2", "198.51.100.1:443 option 0", "198.51.100.1:8014 sylink 1",
        ])
        try m.validate(file: "printed")
    }

    @Test func anUnresolvedNameGivenTwiceIsOneManagerRow() throws {
        let sylink = try parseSyLink(syLinkXML(servers: """
            <ServerPriorityBlock Name="Priority1"><Server Address="sepm.example" HttpsPort="443"/></ServerPriorityBlock>
            <ServerPriorityBlock Name="Priority2"><Server Address="SEPM.example" HttpPort="8014"/></ServerPriorityBlock>
            """))
        let r = analyze([], model: try ReferenceModel.builtIn.withServer("sepm.example:8443"), sylink: sylink)
        let rows = r.managers.filter { $0.hostName?.lowercased() == "sepm.example" }
        #expect(rows.map(\.source) == ["option"])
        let fromSyLink = analyze([], sylink: sylink).managers
        #expect(fromSyLink.map(\.priority) == [1])
    }
}
