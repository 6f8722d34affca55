import Core
import Records
import Testing
import ZeekLogs

/// conn.log, http.log and ssl.log joined by uid into the records the heartbeat layer reads.
@Suite struct ZeekConnectionsTests {
    static let logs = [
        "conn.log": tsvLog("conn", fields: connFields, rows: [
            "1700000000.250000 C1 10.1.2.3 50000 10.1.0.10 8014 tcp http 1.5 900 2100 SF ShADadFf 8 7",
            "1700000001.000000 C2 10.1.2.4 50001 10.1.0.10 443 tcp ssl 2.25 1200 5000 SF ShADadFf 10 9",
            "1700000002.000000 C3 10.1.2.5 50002 10.1.0.10 443 tcp - 3 0 0 S0 S 2 0",
            "1700000003.000000 C4 10.1.2.6 50003 10.1.0.10 8014 tcp - 0.001 0 0 REJ Sr 1 1",
            "1700000004.000000 C5 10.1.2.7 53 10.1.0.1 53 udp dns 0.01 40 80 SF Dd 1 1",
        ]),
        "http.log": tsvLog("http", fields: httpFields, rows: [
            "1700000000.500000 C1 10.1.2.3 50000 10.1.0.10 8014 1 POST 10.1.0.10 /secars/secars.dll?hello,secure 1.1 "
                + "Smc 120 0 200 OK",
            "1700000000.900000 C1 10.1.2.3 50000 10.1.0.10 8014 2 GET 10.1.0.10 /secars/secars.dll?h=ABC 1.1 Smc "
                + "0 1500 200 OK",
        ]),
        "ssl.log": tsvLog("ssl", fields: sslFields, rows: [
            "1700000001.100000 C2 10.1.2.4 50001 10.1.0.10 443 TLSv12 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 "
                + "sepm.example T",
        ]),
    ]

    @Test func oneRecordPerTCPRowOfConnLog() throws {
        let (records, summary) = try readLogs(Self.logs)
        #expect(records.count == 4)
        #expect(summary.connections == 4)
        #expect(summary.logs.map(\.name) == ["conn.log", "http.log", "ssl.log"])
        #expect(summary.logs.map(\.rows) == [5, 2, 1])
        #expect(summary.logs[0].unused == 1, "the UDP row is read, not used")
        #expect(summary.logs.allSatisfy { $0.skipped.isEmpty && $0.form == "tsv" })
        #expect(summary.first == time(1_700_000_000, ms: 250))
        #expect(summary.last == time(1_700_000_005))
    }

    @Test func plainHTTPConnection() throws {
        let r = try readLogs(Self.logs).records[0]
        #expect(r.client == Endpoint(address: IPAddress("10.1.2.3")!, port: 50000))
        #expect(r.server == Endpoint(address: IPAddress("10.1.0.10")!, port: 8014))
        #expect(r.start == time(1_700_000_000, ms: 250))
        #expect(r.end == time(1_700_000_001, ms: 750))
        #expect(r.synTime == r.start)
        #expect(r.handshake == .established)
        #expect(r.state == [.syn, .synAck, .finFromClient, .finFromServer])
        #expect((r.bytesUp, r.bytesDown, r.packetsUp, r.packetsDown) == (900, 2100, 8, 7))
        #expect(r.application == .http)
        #expect(r.exchanges.map(\.kind) == [.http, .http])
        let first = try #require(r.exchanges.first?.http)
        #expect(first.method == "POST")
        #expect(first.target == "/secars/secars.dll?hello,secure", "a comma in a string field is kept")
        #expect(first.version == "HTTP/1.1")
        #expect(first.userAgent == "Smc")
        #expect(first.status == 200)
        #expect(r.exchanges[1].bytesDown == 1500)
        #expect(r.exchanges[1].start == time(1_700_000_000, ms: 900))
    }

    @Test func tlsConnection() throws {
        let r = try readLogs(Self.logs).records[1]
        #expect(r.application == .tls)
        let tls = try #require(r.tls)
        #expect(tls.negotiatedVersion == 0x0303)
        #expect(tls.clientVersion == nil && tls.recordVersion == nil)
        #expect(tls.serverName == "sepm.example")
        #expect(tls.cipherSuite == 0xc030)
        #expect(r.exchanges.count == 1)
        #expect(r.exchanges[0].kind == .tls)
        #expect((r.exchanges[0].start, r.exchanges[0].end) == (r.start, r.end))
        #expect((r.exchanges[0].bytesUp, r.exchanges[0].bytesDown) == (1200, 5000))
    }

    @Test func failedConnects() throws {
        let records = try readLogs(Self.logs).records
        #expect(records[2].handshake == .unanswered)
        #expect(records[2].application == .none)
        #expect(records[3].handshake == .refused)
        #expect(records[3].state.contains(.rstFromServer))
    }

    @Test func jsonLinesGiveTheSameRecords() throws {
        let json = [
            "conn.log": """
                {"ts":1700000000.25,"uid":"C1","id.orig_h":"10.1.2.3","id.orig_p":50000,"id.resp_h":"10.1.0.10",\
                "id.resp_p":8014,"proto":"tcp","service":"http","duration":1.5,"orig_bytes":900,"resp_bytes":2100,\
                "conn_state":"SF","history":"ShADadFf","orig_pkts":8,"resp_pkts":7}

                """,
            "http.log": """
                {"ts":1700000000.5,"uid":"C1","method":"POST","host":"10.1.0.10",\
                "uri":"/secars/secars.dll?hello,secure","version":"1.1","user_agent":"Smc","request_body_len":120,\
                "response_body_len":0,"status_code":200,"status_msg":"OK","tags":[]}
                {"uid":"C1","ts":"2023-11-14T22:13:20.900000Z","method":"GET","host":"10.1.0.10",\
                "uri":"/secars/secars.dll?h=ABC","version":"1.1","user_agent":"Smc","request_body_len":0,\
                "response_body_len":1500,"status_code":200,"status_msg":"OK"}

                """,
        ]
        let fromJSON = try readLogs(json)
        let fromTSV = try readLogs(["conn.log": Self.logs["conn.log"]!, "http.log": Self.logs["http.log"]!])
        #expect(fromJSON.records.first == fromTSV.records.first)
        #expect(fromJSON.summary.logs.map(\.form) == ["json", "json", ""])
    }

    @Test func fieldsInAnyOrderAndOthersIgnored() throws {
        let conn = tsvLog("conn", fields: "extra uid ts id.resp_p id.resp_h id.orig_p id.orig_h duration", rows: [
            "x C1 1700000000.25 8014 10.1.0.10 50000 10.1.2.3 1.5",
        ])
        let r = try #require(try readLogs(["conn.log": conn]).records.first)
        #expect(r.server.port == 8014 && r.client.port == 50000)
        #expect(r.handshake == .midstream, "no history: no SYN known")
        #expect(r.end == time(1_700_000_001, ms: 750))
    }

    @Test func httpRowsWaitOnlyForTheirConnection() throws {
        // An http.log row whose connection has no conn.log row is counted as unused, not joined elsewhere.
        var logs = Self.logs
        logs["http.log"]! += "1700000000.600000\tC9\t10.1.2.9\t1\t10.1.0.10\t8014\t1\tGET\th\t/\t1.1\tSmc\t0\t0"
            + "\t200\tOK\n"
        let (records, summary) = try readLogs(logs)
        #expect(records[0].exchanges.count == 2)
        #expect(summary.logs[1].unused == 1)
    }
}
