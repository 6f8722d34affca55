import Core
import Records
import Testing
import ZeekLogs

/// Joins that hold when http.log comes out of order, the bounds on the rows waiting for their connection,
/// conn.log rows given twice, and records dated far from the rest.
@Suite struct ZeekJoinTests {
    func connRow(_ ts: Int, _ uid: String, duration: String = "0.2") -> String {
        "\(ts).100000 \(uid) 10.20.0.1 50000 10.1.0.10 8014 tcp http \(duration) 133 3700 SF ShADadFf 6 6"
    }

    func httpRow(_ ts: Int, _ uid: String) -> String {
        "\(ts).101000 \(uid) 10.20.0.1 50000 10.1.0.10 8014 1 GET 10.1.0.10 /secars/secars.dll?h=A 1.1 Smc 0 3583 "
            + "200 OK"
    }

    /// Reads logs with the given bounds on the rows waiting.
    func read(_ logs: [String: String], readAhead: Int = ZeekConnections.readAhead,
              holdAtMost: Int = ZeekConnections.holdAtMost) throws
        -> (records: [ConnectionRecord], summary: ZeekConnections.Summary) {
        let paths = ZeekConnections.Paths(conn: "conn.log", http: logs["http.log"].map { _ in "http.log" })
        let input = try ZeekConnections(paths, readAhead: readAhead, holdAtMost: holdAtMost) { path in
            MemorySource(bytes: Array((logs[path] ?? "").utf8))
        }
        var records: [ConnectionRecord] = []
        let summary = try input.run { records.append($0) }
        return (records, summary)
    }

    let start = 1_733_040_000

    @Test func aRowFarAheadDoesNotStopLaterJoins() throws {
        let conn = (0..<4).map { connRow(start + 300 * $0, "CH\($0)") }
        let http = [httpRow(start + 10_000, "CZZZ")] + (0..<4).map { httpRow(start + 300 * $0, "CH\($0)") }
        let (records, summary) = try read(["conn.log": tsvLog("conn", fields: connFields, rows: conn),
                                           "http.log": tsvLog("http", fields: httpFields, rows: http)])
        #expect(records.map(\.exchanges.count) == [1, 1, 1, 1])
        #expect(summary.logs[1].unused == 1, "the row ahead has no connection")
    }

    @Test func blocksAppendedOutOfOrderAreJoined() throws {
        let conn = (0..<8).map { connRow(start + 300 * $0, "CH\($0)") }
        // The second hour's block first, as `cat http.10.log http.09.log` gives it.
        let http = (4..<8).map { httpRow(start + 300 * $0, "CH\($0)") }
            + (0..<4).map { httpRow(start + 300 * $0, "CH\($0)") }
        let (records, summary) = try read(["conn.log": tsvLog("conn", fields: connFields, rows: conn),
                                           "http.log": tsvLog("http", fields: httpFields, rows: http)])
        #expect(records.allSatisfy { $0.exchanges.count == 1 })
        #expect(summary.logs[1].unused == 0)
    }

    @Test func rowsWaitingPastTheLimitAreDroppedOldestFirst() throws {
        let orphans = (0..<5).map { httpRow(start - 50 + $0, "CO\($0)") }
        let logs = ["conn.log": tsvLog("conn", fields: connFields, rows: [connRow(start, "CH0")]),
                    "http.log": tsvLog("http", fields: httpFields, rows: orphans + [httpRow(start, "CH0")])]
        let (records, summary) = try read(logs, readAhead: 2, holdAtMost: 2)
        #expect(records.map(\.exchanges.count) == [1], "the connection's own row, read last, is kept")
        #expect(summary.logs[1].dropped == 4)
        #expect(summary.logs[1].unused == 1, "the one orphan still waiting at conn.log's end")
        #expect(summary.logs[1].rows == 6)
    }

    @Test func rowsAfterConnLogEndsAreCountedNotKept() throws {
        let http = [httpRow(start, "CH0")] + (0..<5).map { httpRow(start + 1000 + $0, "CO\($0)") }
        let (_, summary) = try read(["conn.log": tsvLog("conn", fields: connFields, rows: [connRow(start, "CH0")]),
                                     "http.log": tsvLog("http", fields: httpFields, rows: http)],
                                    readAhead: 1, holdAtMost: 1)
        #expect(summary.logs[1].unused == 5)
        #expect(summary.logs[1].dropped == 0, "rows after conn.log's end are not held")
    }

    @Test func aConnLogRowGivenTwiceIsCountedOnce() throws {
        let rows = (0..<3).map { connRow(start + 300 * $0, "CH\($0)") }
        let (records, summary) = try read(["conn.log": tsvLog("conn", fields: connFields, rows: rows + rows)])
        #expect(records.count == 3)
        #expect(summary.connections == 3)
        #expect(summary.logs[0].repeated == 3)
    }

    @Test func timesOutOfRangeAreSkipped() throws {
        let conn = """
            {"ts":1733040000.1,"uid":"C1","id.orig_h":"10.20.0.1","id.orig_p":50000,"id.resp_h":"10.1.0.10",\
            "id.resp_p":8014,"proto":"tcp","duration":9000000000}
            {"ts":"1900-01-01T00:00:00Z","uid":"C2","id.orig_h":"10.20.0.1","id.orig_p":50001,\
            "id.resp_h":"10.1.0.10","id.resp_p":8014,"proto":"tcp"}
            {"ts":"9999-12-31T00:00:00Z","uid":"C3","id.orig_h":"10.20.0.1","id.orig_p":50002,\
            "id.resp_h":"10.1.0.10","id.resp_p":8014,"proto":"tcp"}
            {"ts":"2024-12-01T08:00:00Z","uid":"C4","id.orig_h":"10.20.0.1","id.orig_p":50003,\
            "id.resp_h":"10.1.0.10","id.resp_p":8014,"proto":"tcp"}

            """
        let (records, summary) = try read(["conn.log": conn])
        #expect(records.map(\.client.port) == [50003])
        #expect(summary.logs[0].skipped.map(\.reason) == ["ts plus duration is past the year 2262",
                                                          "ts is not a time (not negative, finite)"])
        #expect(summary.logs[0].skipped.map(\.rows) == [1, 2])
    }

    @Test func aRecordDatedDecadesAwayIsSetApart() throws {
        var conn = (0..<12).map { connRow(start + 300 * $0, "CH\($0)") }
        conn.insert(connRow(3_990_000_000, "CFAR"), at: 5)
        let (records, summary) = try read(["conn.log": tsvLog("conn", fields: connFields, rows: conn)])
        #expect(records.count == 13)
        #expect(summary.last == Timestamp(seconds: 3_990_000_000, nanoseconds: 300_000_000))
        #expect(summary.clockFirst == Timestamp(seconds: Int64(start), nanoseconds: 100_000_000))
        #expect(summary.clockLast == Timestamp(seconds: Int64(start + 3300), nanoseconds: 300_000_000))
        let far = OffClockStretch(start: Timestamp(seconds: 3_990_000_000, nanoseconds: 100_000_000),
                                  end: Timestamp(seconds: 3_990_000_000, nanoseconds: 300_000_000))
        #expect(summary.offClock == [far])
    }

    @Test func withoutHTTPLogAPlainHTTPConnectionIsOneExchangeOfUnknownContent() throws {
        let (records, _) = try read(["conn.log": tsvLog("conn", fields: connFields, rows: [connRow(start, "CH0")])])
        let r = try #require(records.first)
        #expect(r.exchanges.map(\.kind) == [.other])
        #expect((r.exchanges[0].bytesUp, r.exchanges[0].bytesDown) == (133, 3700))
    }
}
