@testable import Analysis
import Core
import Records
import Testing

/// One keep-alive connection's exchanges are bounded: the record keeps 4,096 and counts
/// the rest as folded, with every byte still in the exchanges.
@Suite struct FoldedExchangesTests {
    @Test func pipelinedTransactionsPastTheBoundAreFoldedIntoTheRecord() {
        let request = "GET /index.html HTTP/1.1\r\nHost: www\r\n\r\n"
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"
        let n = 5_000
        // Each request answered before the next (steps are a second apart: back to back).
        let r = ApplicationStateTests.run((0..<n).flatMap { _ in
            [ApplicationStateTests.Step.up(request), .down(response)]
        })
        #expect(r.record.exchanges.count == 4_096)
        #expect(r.record.foldedExchanges == n - 4_096)
        #expect(r.record.exchanges.reduce(0) { $0 + $1.bytesUp } == Int64(n * request.utf8.count))
        #expect(r.record.exchanges.reduce(0) { $0 + $1.bytesDown } == Int64(n * response.utf8.count))
        // Below the bound nothing is folded.
        let few = ApplicationStateTests.run([
            .up(String(repeating: request, count: 10)), .down(String(repeating: response, count: 10)),
        ])
        #expect(few.record.exchanges.count == 10 && few.record.foldedExchanges == 0)
    }
}
