import Core
import Records
import Testing

@Suite("Exchange keeps value semantics for its HTTP transaction")
struct ExchangeValueTests {
    private func exchange() -> Exchange {
        var e = Exchange(index: 1, kind: .http, start: Timestamp(nanoseconds: 1), end: Timestamp(nanoseconds: 2))
        e.http = HTTPTransaction(method: "POST", target: "/secars/secars.dll?h=1", version: "HTTP/1.1")
        return e
    }

    @Test func changingACopyLeavesTheOriginalAlone() {
        let original = exchange()
        var copy = original
        copy.http?.status = 200
        copy.http?.reason = "OK"
        #expect(original.http?.status == nil)
        #expect(copy.http?.status == 200)
        #expect(copy.http?.reason == "OK")
        #expect(copy != original)

        var again = original
        again.http?.status = 200
        again.http?.reason = "OK"
        #expect(again == copy)
        #expect(again.hashValue == copy.hashValue)
    }

    @Test func changingTheOnlyCopyInPlaceMatchesSettingAWholeValue() {
        var inPlace = exchange()
        inPlace.http?.status = 503
        inPlace.http?.requestBodyLength = 42
        var whole = exchange()
        var transaction = whole.http ?? HTTPTransaction(method: "", target: "", version: "")
        transaction.status = 503
        transaction.requestBodyLength = 42
        whole.http = transaction
        #expect(inPlace == whole)
        #expect(inPlace.hashValue == whole.hashValue)
    }

    @Test func clearingThroughAChangeRemovesTheTransaction() {
        var e = exchange()
        let shared = e
        e.http? = HTTPTransaction(method: "GET", target: "/", version: "HTTP/1.0")
        #expect(e.http?.method == "GET")
        #expect(shared.http?.method == "POST")
        func clear(_ value: inout HTTPTransaction?) { value = nil }
        clear(&e.http)
        #expect(e.http == nil)
        var empty = exchange()
        empty.http = nil
        #expect(e == empty)
        #expect(e.hashValue == empty.hashValue)
    }

    @Test func changeHTTPChangesInPlaceAndCopiesASharedTransaction() {
        var e = exchange()
        let shared = e
        e.changeHTTP {
            $0.status = 200
            $0.reason = "OK"
        }
        #expect(e.http?.status == 200)
        #expect(e.http?.reason == "OK")
        #expect(shared.http?.status == nil)
        var viaOptional = exchange()
        viaOptional.http?.status = 200
        viaOptional.http?.reason = "OK"
        #expect(e == viaOptional)
        #expect(e.hashValue == viaOptional.hashValue)
        e.changeHTTP { $0.requestBodyLength = 7 }
        #expect(e.http?.requestBodyLength == 7)
        #expect(e.http?.status == 200)
    }

    @Test func changeHTTPWithoutATransactionChangesNothing() {
        var e = Exchange(index: 2, kind: .tls, start: Timestamp(nanoseconds: 1), end: Timestamp(nanoseconds: 2))
        let before = e
        var called = false
        e.changeHTTP { _ in called = true }
        #expect(!called)
        #expect(e.http == nil)
        #expect(e == before)
    }
}
