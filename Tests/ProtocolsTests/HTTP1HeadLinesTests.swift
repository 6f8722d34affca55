@testable import Protocols
import Testing

@Suite("HTTP/1.x head lines")
struct HTTP1HeadLinesTests {
    private func lines(_ text: String) -> (lines: [String], bareLineFeed: Bool) {
        var split = HTTP1HeadLines(Array(text.utf8))
        var out: [String] = []
        while let line = split.next() { out.append(String(decoding: line, as: UTF8.self)) }
        return (out, split.sawBareLineFeed)
    }

    @Test func linesEndAtEachLineFeedWithoutTheirCarriageReturn() {
        let crlf = lines("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(crlf.lines == ["GET / HTTP/1.1", "Host: x", ""])
        #expect(!crlf.bareLineFeed)
        let bare = lines("GET / HTTP/1.1\nHost: x\r\n\ntail")
        #expect(bare.lines == ["GET / HTTP/1.1", "Host: x", "", "tail"])
        #expect(bare.bareLineFeed)
        #expect(lines("").lines.isEmpty)
        #expect(lines("\n").lines == [""])
    }

    @Test func lineFeedSearchStaysInsideTheBuffer() {
        let buf = Array("ab\ncd\n".utf8)
        #expect(HTTP1HeadLines.lineFeed(in: buf, from: 0) == 2)
        #expect(HTTP1HeadLines.lineFeed(in: buf, from: 3) == 5)
        #expect(HTTP1HeadLines.lineFeed(in: buf, from: 6) == nil)
        #expect(HTTP1HeadLines.lineFeed(in: buf, from: -1) == nil)
        #expect(HTTP1HeadLines.lineFeed(in: [], from: 0) == nil)
    }
}

/// A reason phrase of thousands of bytes was kept whole and made report lines thousands of columns wide.
@Suite struct HTTP1ReasonLengthTests {
    @Test func aLongReasonIsCutToWholeCharactersAndSaysItsLength() {
        let short = Array("Service Unavailable".utf8)
        #expect(HTTP1Parser.reasonText(short[...]) == "Service Unavailable")
        let exact = [UInt8](repeating: 0x61, count: HTTP1Parser.maxReasonBytes)
        #expect(HTTP1Parser.reasonText(exact[...]).utf8.count == HTTP1Parser.maxReasonBytes)
        let long = [UInt8](repeating: 0x61, count: 5_000)
        #expect(HTTP1Parser.reasonText(long[...]) == String(repeating: "a", count: 256) + "… (5000 bytes)")
        // "é" is two bytes: one starting at byte 255 would be split by the cut, so it is left out whole.
        let accented = [UInt8](repeating: 0x61, count: 255) + Array(String(repeating: "é", count: 100).utf8)
        #expect(HTTP1Parser.reasonText(accented[...]) == String(repeating: "a", count: 255) + "… (455 bytes)")
    }
}
