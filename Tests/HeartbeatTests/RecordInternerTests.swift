import Core
import Testing

@testable import Heartbeat
@testable import Records

/// `RecordInterner`: equal values kept at intake share one box or buffer, different ones stay apart, the
/// tables stop at their cap, and a change after sharing touches only the record changed.
@Suite struct RecordInternerTests {
    private func record(id: UInt64, sni: String? = "sepm1.example.test", target: String = "/secars/secars.dll?…",
                        status: Int? = 200) -> ConnectionRecord {
        var r = ConnectionRecord(
            id: id, client: Endpoint(address: IPAddress(ipv4: 0x0a14_0001), port: 50_000),
            server: Endpoint(address: IPAddress(ipv4: 0x0a01_000a), port: 443),
            start: Timestamp(nanoseconds: Int64(id) * 1_000), end: Timestamp(nanoseconds: Int64(id) * 1_000 + 500))
        var tls = TLSSummary()
        tls.serverName = sni
        tls.negotiatedVersion = 0x0303
        tls.cipherSuite = 0xc030
        r.tls = tls
        var e = Exchange(index: 0, kind: .http, start: r.start, end: r.end)
        var h = HTTPTransaction(method: "POST", target: target, version: "HTTP/1.1")
        h.status = status
        h.reason = "OK"
        e.http = h
        r.exchanges = [e, e]
        return r
    }

    /// The address of a string's UTF-8 buffer (nil for a string held inline).
    private func buffer(_ s: String) -> UnsafeRawPointer? {
        var s = s
        return s.withUTF8 { UnsafeRawPointer($0.baseAddress) }
    }

    @Test func equalValuesShareOneBox() {
        var interner = RecordInterner()
        var a = record(id: 1)
        var b = record(id: 2)
        let (beforeA, beforeB) = (a, b)
        #expect(a.tlsStorage !== b.tlsStorage)
        interner.share(&a)
        interner.share(&b)
        #expect(a == beforeA)
        #expect(b == beforeB)
        #expect(a.hashValue == beforeA.hashValue)
        #expect(a.tlsStorage === b.tlsStorage)
        #expect(a.exchanges[0].httpStorage === b.exchanges[1].httpStorage)
        #expect(a.exchanges[0].httpStorage === a.exchanges[1].httpStorage)
        let counts = interner.counts
        #expect(counts.tls == 1)
        #expect(counts.http == 1)
        // Equal values found again share the kept box too.
        var c = record(id: 3)
        interner.share(&c)
        #expect(c.tlsStorage === a.tlsStorage)
        #expect(c.exchanges[1].httpStorage === a.exchanges[0].httpStorage)
    }

    @Test func differentValuesStayApart() {
        var interner = RecordInterner()
        var a = record(id: 1, sni: "sepm1.example.test", target: "/secars/secars.dll?…", status: 200)
        var b = record(id: 2, sni: "sepm2.example.test", target: "/secars/secars.dll?…", status: 503)
        let (beforeA, beforeB) = (a, b)
        interner.share(&a)
        interner.share(&b)
        #expect(a == beforeA)
        #expect(b == beforeB)
        #expect(a.tlsStorage !== b.tlsStorage)
        #expect(a.tls?.serverName == "sepm1.example.test")
        #expect(b.tls?.serverName == "sepm2.example.test")
        #expect(a.exchanges[0].httpStorage !== b.exchanges[0].httpStorage)
        #expect(a.exchanges[0].http?.status == 200)
        #expect(b.exchanges[0].http?.status == 503)
        #expect(interner.counts.tls == 2)
        #expect(interner.counts.http == 2)
    }

    /// Texts equal under `String`'s `==` (canonical equivalence) but with other bytes stay apart: combining marks
    /// in another order, a precomposed letter against a base letter and its mark.
    @Test func canonicallyEqualTextsWithOtherBytesStayApart() {
        let long = String(repeating: "A", count: 64)
        let first = long + "a\u{0301}\u{0323}.example.test"
        let second = long + "a\u{0323}\u{0301}.example.test"
        #expect(first == second)  // the premise: equal to `==`, not byte for byte
        #expect(!first.utf8.elementsEqual(second.utf8))
        var interner = RecordInterner()
        var a = record(id: 1, sni: first, target: "/secars/\u{00E9}t\u{00E9}.dll?…")
        var b = record(id: 2, sni: second, target: "/secars/e\u{0301}te\u{0301}.dll?…")
        interner.share(&a)
        interner.share(&b)
        #expect(a.tlsStorage !== b.tlsStorage)
        #expect(b.tls?.serverName.map { Array($0.utf8) } == Array(second.utf8))
        #expect(a.exchanges[0].httpStorage !== b.exchanges[0].httpStorage)
        #expect(b.exchanges[0].http.map { Array($0.target.utf8) } == Array("/secars/e\u{0301}te\u{0301}.dll?…".utf8))
        let s1 = interner.shared(first)
        let s2 = interner.shared(second)
        #expect(Array(s1.utf8) == Array(first.utf8))
        #expect(Array(s2.utf8) == Array(second.utf8))
    }

    @Test func equalLongStringsShareOneBuffer() {
        var interner = RecordInterner()
        let a = interner.shared(String(repeating: "/secars/", count: 2) + "?…")
        let b = interner.shared(String(repeating: "/secars/", count: 2) + "?…")
        #expect(a == b)
        #expect(buffer(a) != nil)
        #expect(buffer(a) == buffer(b))
        let c = interner.shared(String(repeating: "/secarz/", count: 2) + "?…")
        #expect(c != a)
        #expect(buffer(c) != buffer(a))
        // Short strings are held inline and left alone (not kept).
        #expect(interner.shared("GET") == "GET")
        #expect(interner.counts.strings <= 2)
    }

    @Test func tablesKeepAtMostTheirSlotsAndValuesStayWhole() {
        var interner = RecordInterner(slots: 64)
        #expect(interner.slots == 64)
        var records = (0..<1_000).map { record(id: UInt64($0), sni: "sepm\($0).example.test", status: 100 + $0) }
        let before = records
        for i in records.indices { interner.share(&records[i]) }
        #expect(records == before)
        #expect(interner.counts.tls <= 64)
        #expect(interner.counts.http <= 64)

        // One slot: a different value takes it over, so a value equal to the first is no longer shared with it.
        var one = RecordInterner(slots: 1)
        var a = record(id: 1, status: 200)
        var b = record(id: 2, status: 503)
        var c = record(id: 3, status: 200)
        var d = record(id: 4, status: 200)
        one.share(&a)
        one.share(&b)
        one.share(&c)
        one.share(&d)
        #expect(one.counts.http == 1)
        #expect(c.exchanges[0].httpStorage !== a.exchanges[0].httpStorage)
        #expect(d.exchanges[0].httpStorage === c.exchanges[0].httpStorage)
        #expect(c.exchanges[0].http == a.exchanges[0].http)
        #expect(RecordInterner(slots: 0).slots == 1)
        #expect(RecordInterner(slots: 5_000).slots == 8_192)
    }

    @Test func aChangeAfterSharingLeavesTheOtherHolderAlone() {
        var interner = RecordInterner()
        var a = record(id: 1)
        var b = record(id: 2)
        interner.share(&a)
        interner.share(&b)
        #expect(a.exchanges[0].httpStorage === b.exchanges[0].httpStorage)
        let untouched = b

        a.exchanges[0].changeHTTP { $0.status = 404 }
        a.exchanges[1].http?.reason = "Not Found"
        a.tls?.serverName = "other.example.test"
        a.tunnel = ConnectionTunnel(host: "sepm1.example.test", port: 443, start: a.start)

        #expect(b == untouched)
        #expect(b.exchanges[0].http?.status == 200)
        #expect(b.exchanges[1].http?.reason == "OK")
        #expect(b.tls?.serverName == "sepm1.example.test")
        #expect(a.exchanges[0].http?.status == 404)
        #expect(a.exchanges[1].http?.reason == "Not Found")
        #expect(a.tls?.serverName == "other.example.test")

        // The table's copy is untouched too: a record equal to the first one still shares with `b`.
        var c = record(id: 3)
        interner.share(&c)
        #expect(c.exchanges[0].httpStorage === b.exchanges[0].httpStorage)
        #expect(c.exchanges[0].http?.status == 200)
    }

    /// A string given in two parts is the one joined from them, shares the buffer of an equal string kept whole (and
    /// the other way round), and takes a slot as the joined string would.
    @Test func aStringGivenInPartsIsTheJoinedOne() {
        let long = String(repeating: "/secars", count: 12)
        let heads = ["/secars/secars.dll", "/a", "", long, long + "é", "/e\u{301}t", "/é/" + long, "/\u{301}x"]
        for tail in ["?…", "", "x", "?" + String(repeating: "z", count: 70)] {
            for head in heads {
                let whole = head + tail
                var parts = RecordInterner()
                let joined = parts.shared(Substring(head), tail)
                #expect(Array(joined.utf8) == Array(whole.utf8), "\(whole.debugDescription)")
                // Kept under the joined string's key: found again whole, with the same buffer.
                let again = parts.shared(whole)
                #expect(buffer(again) == buffer(joined) || whole.utf8.count <= 15)
                var wholeFirst = RecordInterner()
                let kept = wholeFirst.shared(whole)
                let found = wholeFirst.shared(Substring(head), tail)
                #expect(Array(found.utf8) == Array(whole.utf8))
                #expect(buffer(found) == buffer(kept) || whole.utf8.count <= 15)
            }
        }
        // A part of a longer string, and a kept string of other bytes in the slot, are no match.
        var interner = RecordInterner(slots: 1)
        let full = "/secars/secars.dll?h=00"
        let other = interner.shared("/secars/secarz.dll?…")
        let cut = interner.shared(full[..<(full.firstIndex(of: "?") ?? full.endIndex)], "?…")
        #expect(cut == "/secars/secars.dll?…")
        #expect(buffer(cut) != buffer(other))
        #expect(interner.shared("/secars/secars.dll?…") == cut)
    }

    /// Values given in place of the record's (a compacted TLS summary, changed HTTP transactions) are shared as
    /// the same values boxed and then shared would be; a record whose boxes all stay keeps its exchanges' array
    /// (shared with the caller's copy, not copied).
    @Test func valuesGivenInPlaceAreSharedAsTheirBoxesWouldBe() {
        var interner = RecordInterner()
        var first = record(id: 1)
        interner.share(&first)
        var second = record(id: 2, target: "/secars/secars.dll?h=99")
        var tls = second.tls ?? TLSSummary()
        tls.alerts = []
        let before = second
        interner.share(&second) { _ in tls } http: { h, interner in
            guard h.target.hasSuffix("h=99") else { return nil }
            var t = copy h
            t.target = interner.shared(Substring("/secars/secars.dll"), "?…")
            return t
        }
        #expect(before.exchanges[0].http?.target == "/secars/secars.dll?h=99")
        #expect(second.tls == tls)
        #expect(second.tlsStorage === first.tlsStorage)
        #expect(second.exchanges[0].http == first.exchanges[0].http)
        #expect(second.exchanges[0].httpStorage === first.exchanges[0].httpStorage)
        #expect(second.exchanges[1].httpStorage === first.exchanges[1].httpStorage)
        var expected = before
        expected.tls = tls
        for i in expected.exchanges.indices { expected.exchanges[i].http?.target = "/secars/secars.dll?…" }
        #expect(second == expected)

        // Nothing to replace: the array stays the one the caller's copy holds.
        var third = first
        let held = third
        interner.share(&third) { _ in nil } http: { _, _ in nil }
        #expect(third == held)
        let same = third.exchanges.withUnsafeBufferPointer { a in
            held.exchanges.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress }
        }
        #expect(same)
    }

    @Test func theBuilderSharesWhatItKeeps() {
        var builder = SessionBuilder(model: .builtIn)
        builder.ingest(record(id: 1, target: "/secars/secars.dll?h=0123456789abcdef0123456789abcdef"))
        builder.ingest(record(id: 2, target: "/secars/secars.dll?h=fedcba9876543210fedcba9876543210"))
        let kept = builder.keptRecords
        #expect(kept.count == 2)
        guard kept.count == 2 else { return }
        #expect(kept[0].exchanges[0].http?.target == "/secars/secars.dll?…")
        #expect(kept[0].tlsStorage === kept[1].tlsStorage)
        #expect(kept[0].exchanges[0].httpStorage === kept[1].exchanges[0].httpStorage)
        let t0 = kept[0].exchanges[0].http?.target ?? ""
        let t1 = kept[1].exchanges[1].http?.target ?? ""
        #expect(buffer(t0) == buffer(t1))
    }
}
