import Core
import Records
import Testing
import ZeekLogs

/// Logs that cannot be read are one-line errors naming the file and line; odd rows in a readable log are
/// counted as skipped, with the first line of each reason, and a last line cut short is noted apart.
@Suite struct ZeekBadInputTests {
    func error(_ logs: [String: String]) -> String? {
        do {
            _ = try readLogs(logs)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func connRow(_ ts: String, _ uid: String = "C1", duration: String = "1.5", bytes: String = "900") -> String {
        "\(ts) \(uid) 10.1.2.3 50000 10.1.0.10 8014 tcp http \(duration) \(bytes) 2100 SF ShADadFf 8 7"
    }

    @Test func rowsBeforeAnyFieldsHeader() {
        let log = "#separator \\x09\n#path\tconn\n1700000000.0\tC1\t10.1.2.3\n"
        #expect(error(["conn.log": log]) == "conn.log:3: a row before the #fields header line")
    }

    @Test func requiredFieldsMissing() {
        let log = tsvLog("conn", fields: "ts uid id.orig_h id.orig_p", rows: [])
        #expect(error(["conn.log": log]) == "conn.log:7: #fields lacks id.resp_h, id.resp_p (is this a conn.log?)")
    }

    @Test func neitherForm() {
        #expect(error(["conn.log": "\nts,uid\n1,2\n"]) == "conn.log:2: neither a Zeek log in tab-separated form "
            + "(its first line starts with '#separator') nor in JSON lines (each line an object)")
        #expect(error(["conn.log": "\u{1f}\u{8b}\u{08}junk\n"])?.contains("a compressed file") == true)
    }

    @Test func oddRowsAreCountedWithTheirFirstLine() throws {
        let log = tsvLog("conn", fields: connFields, rows: [
            connRow("1700000000.0"),
            "1700000001.0 C2 10.1.2.3 50000",
            connRow("-5.0", "C3"),
            connRow("nan", "C4"),
            connRow("1700000002.0", "C5", duration: "inf"),
            connRow("1700000003.0", "C6", bytes: "12x"),
            "1700000004.0 C7 10.1.2 50000 10.1.0.10 8014 tcp http 1 1 1 SF S 1 1",
            connRow("1700000005.0", "C8"),
            "1700000006.0 C9 10.1.2.3",
        ])
        let (records, summary) = try readLogs(["conn.log": log])
        #expect(records.map(\.client.address) == [IPAddress("10.1.2.3")!, IPAddress("10.1.2.3")!])
        let conn = summary.logs[0]
        #expect(conn.rows == 9)
        #expect(conn.skippedRows == 7)
        #expect(conn.skipped.map(\.reason) == [
            "4 columns where #fields names 15", "ts is not a time (not negative, finite)",
            "duration is not a number of seconds (not negative, finite)", "orig_bytes is not a count",
            "id.orig_h is not an address", "3 columns where #fields names 15",
        ])
        #expect(conn.skipped.map(\.rows) == [1, 2, 1, 1, 1, 1])
        #expect(conn.skipped.map(\.firstLine) == [10, 11, 13, 14, 15, 17])
        #expect(conn.cutLastLine == nil)
    }

    @Test func aCutLastLineIsNotAnOddRow() throws {
        var log = tsvLog("conn", fields: connFields, rows: [connRow("1700000000.0")], close: false)
        log += "1700000001.0\tC2\t10.1.2"
        let (records, summary) = try readLogs(["conn.log": log])
        #expect(records.count == 1)
        #expect(summary.logs[0].skipped.isEmpty)
        #expect(summary.logs[0].cutLastLine == 10)
        // A whole last row without its line end is read.
        let whole = tsvLog("conn", fields: connFields, rows: [], close: false) + connRow("1700000000.0")
            .split(separator: " ").joined(separator: "\t")
        #expect(try readLogs(["conn.log": whole]).records.count == 1)
    }

    @Test func oddJSONLines() throws {
        let log = """
            {"ts":1700000000.0,"uid":"C1","id.orig_h":"10.1.2.3","id.orig_p":1,"id.resp_h":"10.1.0.10","id.resp_p":443}
            {"ts":1700000000.0,"uid":"C2","id.orig_h":"10.1.2.3","id.orig_p":1,"id.resp_h":"10.1.0.10"}
            {"ts":-1,"uid":"C3","id.orig_h":"10.1.2.3","id.orig_p":1,"id.resp_h":"10.1.0.10","id.resp_p":443}
            [1, 2]
            {"ts":1700000000.0,"uid":"C4","id":{"orig_h":"10.1.2.3"}}
            {"ts":1700000000.0,"uid":"C5","id.orig_h":"10.1.2.3","id.orig_p":1,"id.resp_h":"10.1.0.10","id.resp_p":44
            """
        let (records, summary) = try readLogs(["conn.log": log])
        #expect(records.count == 1)
        let conn = summary.logs[0]
        #expect(conn.skipped.map(\.reason) == [
            "no id.resp_p", "ts is not a time (not negative, finite)",
            "not a JSON object: '{' expected at column 1", "a nested JSON object (not a flat Zeek row)",
        ])
        #expect(conn.cutLastLine == 6)
    }

    @Test func aLineTooLongIsSkipped() throws {
        let long = String(repeating: "x", count: (1 << 20) + 10)
        let log = tsvLog("conn", fields: connFields, rows: [long, connRow("1700000000.0")])
        let (records, summary) = try readLogs(["conn.log": log])
        #expect(records.count == 1)
        #expect(summary.logs[0].skipped.map(\.reason) == ["longer than 1048576 bytes"])
    }

    @Test func aFolderWithoutConnLog() throws {
        #expect(throws: ZeekLogError.self) { try ZeekConnections.Paths(directory: "/nonexistent-zeek-folder") }
    }
}

/// Times and intervals past what a `Timestamp` holds are no times (found by the `zeek-log` fuzz target).
@Suite struct ZeekTimeRangeTests {
    @Test func secondsPastTheRangeAreSkipped() throws {
        let log = tsvLog("conn", fields: "ts uid id.orig_h id.orig_p id.resp_h id.resp_p duration", rows: [
            "9999999999.0 C1 10.1.2.3 1 10.1.0.10 443 1",
            "9223372036.9 C2 10.1.2.3 1 10.1.0.10 443 1",
            "1700000000.0 C3 10.1.2.3 1 10.1.0.10 443 9999999999",
        ])
        let (records, summary) = try readLogs(["conn.log": log])
        #expect(records.isEmpty)
        #expect(summary.logs[0].skipped.map(\.rows) == [2, 1])
    }
}
