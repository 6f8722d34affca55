import Testing

/// Two captures taken days apart, merged in one run: the time between them is not judged.
@Suite struct CaptureSilenceCLITests {
    private let files = [heartbeatCapture("https-idle"), heartbeatCapture("old-tls")]

    @Test func analyzeReportsTheTimeBetweenFilesOnceAndMissesNothing() {
        let run = CLIRun(["analyze", "--color", "never"] + files)
        #expect(run.stdout.contains("warning capture-gap 2025-03-03T08:25:20.187Z: no packets from "
            + "2025-03-03T08:25:20.187Z to 2025-03-09T08:00:11.163Z (5 d 23 h): the capture does not cover this "
            + "time (between capture files); 1722 expected check-ins not judged (1 client)"))
        #expect(!run.stdout.contains("missed-heartbeat"))
        #expect(run.stdout.contains("Client 192.0.2.21: 11 check-ins, interval median"))
        #expect(run.stdout.contains("max 303.082"))
        // old-tls.pcap still fails on its TLS version, not on intervals.
        #expect(run.status == 1)
        #expect(run.stdout.contains("Findings: 1 error, 1 warning, 0 info"))
    }

    @Test func jsonCarriesTheUnobservedIntervalPerClient() {
        let run = CLIRun(["analyze", "--format", "json"] + files)
        #expect(run.stdout.contains("\"notObserved\" : 1"))
        #expect(run.stdout.contains("\"missed\" : 0"))
        #expect(run.stdout.components(separatedBy: "\"capture-gap\"").count == 2)
    }

    @Test func auditAndValidateLeaveTheGapOutToo() {
        let audit = CLIRun(["audit", "--color", "never"] + files)
        #expect(audit.status == 0)
        #expect(audit.stdout.contains("0 failed (no connect, TLS handshake or answer), "
            + "0 answered with HTTP errors, 0 connects refused, 0 missed"))
        #expect(audit.stdout.contains("1 interval not observed (capture silence)"))
        let validate = CLIRun(["validate", "--color", "never"] + files)
        #expect(validate.stdout.contains("pass    error     interval "))
    }
}
