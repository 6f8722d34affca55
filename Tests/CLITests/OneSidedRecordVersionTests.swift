import Core
import Heartbeat
import Records
import Reports
import Testing

/// A TLS version known from one direction's application-data records only, while the other direction's
/// records carried a version no TLS stack writes there (0x0304 up, 0x0303 down): validate's `tls-version`
/// check names the implausible side instead of passing it over in silence.
@Suite struct OneSidedRecordVersionTests {
    /// Idle check-ins every 300 s whose hellos were not captured: `down` records 0x0303, `up` records `upVersion`.
    private func report(up upVersion: UInt16?, implausibleDown: UInt16? = nil) throws -> HeartbeatReport {
        var f = FleetRecords()
        for k in 0..<3 { f.idle("10.0.0.1", at: Double(k) * 300) }
        for i in f.records.indices {
            var summary = TLSSummary()
            summary.recordVersion = 0x0303
            summary.implausibleRecordVersionUp = upVersion
            summary.implausibleRecordVersionDown = implausibleDown
            f.records[i].tls = summary
        }
        var builder = SessionBuilder(model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        for r in f.records { builder.ingest(r) }
        return builder.finish()
    }

    @Test func theImplausibleSideIsNamedInTheCheck() throws {
        let r = try report(up: 0x0304)
        #expect(r.sessions.map(\.tlsImplausibleRecordSide) == ["up 0x0304", "up 0x0304", "up 0x0304"])
        let check = try #require(DeploymentValidation(report: r, audit: FleetAudit(report: r, model: .builtIn))
            .checks.first { $0.id == "tls-version" })
        #expect(check.passed)
        #expect(check.detail == "no finding; TLS versions of 3 check-ins: 3 from the record layer only (3 of them "
            + "from one direction only: the other's application-data records carried a version no TLS stack "
            + "writes, e.g. up 0x0304)")
    }

    @Test func bothSidesPlausibleOrBothImplausibleSayNothingMore() throws {
        for (up, down) in [(UInt16?.none, UInt16?.none), (0x0305, 0x0305)] {
            let r = try report(up: up, implausibleDown: down)
            #expect(r.sessions.allSatisfy { $0.tlsImplausibleRecordSide == nil }, "\(String(describing: up))")
            let check = DeploymentValidation(report: r, audit: FleetAudit(report: r, model: .builtIn))
                .checks.first { $0.id == "tls-version" }
            #expect(check?.detail.contains("one direction only") == false)
        }
    }
}
