import Testing
import TestSupport

@testable import Reports

/// How reports word sizes, seconds and counts, and the command-line wording around them.
@Suite struct ReportWordingTests {
    @Test func sizesUseBinaryUnits() {
        #expect(formatBytes(512) == "512 B")
        #expect(formatBytes(1_023) == "1023 B")
        #expect(formatBytes(1_024) == "1.0 KiB")
        #expect(formatBytes(40_454) == "39.5 KiB")
        #expect(formatBytes(5_120) == "5.0 KiB")
        #expect(formatBytes(1_048_576) == "1.0 MiB")
        #expect(formatBytes(1_500_000_000) == "1.4 GiB")
    }

    @Test func fixedDecimalsKeepTheirWidth() {
        #expect(formatFixed(0.01, digits: 3) == "0.010")
        #expect(formatFixed(10.0167, digits: 3) == "10.017")
        #expect(formatFixed(0, digits: 3) == "0.000")
        #expect(formatFixed(-0.014, digits: 2) == "-0.01")
        #expect(formatFixed(-0.001, digits: 2) == "0.00")
        #expect(formatFixed(300, digits: 0) == "300")
        #expect(formatFixed(.nan, digits: 3) == "-")
        #expect(formatFixed(.infinity, digits: 3) == "-")
    }

    @Test func longSpansAreReadable() {
        #expect(secondsText(0.003) == "0.003")
        #expect(secondsText(516_890.981) == "516890.981 (5 d 23 h 34 min)")
        #expect(formatSeconds(1_304) == "21 min 44 s")
        #expect(formatSeconds(3_780) == "1 h 3 min")
        #expect(formatSeconds(0.25) == "0.250 s")
    }

    @Test func countsAgreeWithTheirNouns() {
        #expect(formatCount(1, "client") == "1 client")
        #expect(formatCount(0, "client") == "0 clients")
        #expect(formatCount(2, "check-in") == "2 check-ins")
        #expect(formatCount(3, "query", plural: "queries") == "3 queries")
    }

    @Test func cipherSuitesHaveNames() {
        #expect(CipherSuiteNames.describe(0xC030) == "0xc030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
        #expect(CipherSuiteNames.name(0x1301) == "TLS_AES_128_GCM_SHA256")
        #expect(CipherSuiteNames.name(0xCCA8) == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")
        #expect(CipherSuiteNames.describe(0x1234) == "0x1234")
    }

    @Test func flowsNumbersExchangesFromOne() {
        let run = sepbeat("flows", "--tls", heartbeatCapture("https-idle"))
        #expect(run.status == 0)
        #expect(run.stdout.contains("  exchange 1 tls "))
        #expect(!run.stdout.contains("  exchange 0 "))
        #expect(run.stdout.contains("cipher 0xc030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"))
    }

    /// Without `--http` or `--tls` the rows stand alone in text as in JSON: the exchanges are details.
    @Test func flowsListsExchangesOnlyWhenAsked() throws {
        let plain = sepbeat("flows", heartbeatCapture("https-idle"))
        #expect(plain.status == 0)
        #expect(!plain.stdout.contains("  exchange "))
        #expect(sepbeat("flows", "--http", heartbeatCapture("https-idle")).stdout.contains("  exchange 1 tls "))
        let json = sepbeat("flows", "-F", "json", heartbeatCapture("https-idle"))
        #expect(!json.stdout.contains("\"exchanges\""))
    }

    @Test func badFilterNamesTheExpressionNotTheFile() {
        let run = sepbeat("analyze", "-f", "tcp port", heartbeatCapture("https-idle"))
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("sepbeat analyze: bad filter expression \"tcp port\": "))
        #expect(!run.stderr.contains("https-idle.pcap"))
    }

    @Test func simulateRefusesStandardOutput() {
        let run = sepbeat("simulate", "-o", "-")
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot both go to standard output"))
    }

    @Test func modelAcceptsQuiet() {
        let run = sepbeat("model", "-q")
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("{"))
    }

    @Test func validateSaysWhatItSawAndCountsInWords() {
        let run = sepbeat("validate", "--sylink", Fixtures.captures + "/heartbeat/failover.sylink.xml",
                          heartbeatCapture("failover"))
        #expect(run.status == 1)
        #expect(run.stdout.contains("the capture holds check-ins to a manager: 5 check-ins from 1 client"))
        #expect(run.stdout.contains("first (client 192.0.2.23): 2025-03-07T08:00:26.954Z to 198.51.100.11 "
            + "(priority 2); the priority-1 manager 198.51.100.10 answered other check-ins in this capture"))
        #expect(run.stdout.contains(
            "Verdict: fail (10 of 13 checks passed; failed: 2 error checks, 1 warning check; 1 client with check-ins)"))
    }

    @Test func auditSaysItJudgesIntervalsOnly() {
        let run = sepbeat("audit", heartbeatCapture("server-error"))
        #expect(run.stdout.contains("Health and score judge the intervals between check-ins only"))
        #expect(run.stdout.contains("accel gaps (runs)"))
        #expect(run.stdout.contains("3 (2)"))
    }
}
