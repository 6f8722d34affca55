import Foundation
import Testing
import TestSupport

/// Where tshark is installed, if it is.
private let tsharkPath: String? = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// `simulate` under a model whose minimum TLS version is 1.3, read back by `analyze`, `validate` and tshark.
@Suite struct SimulateTLS13CLITests {
    private static let model13 = #"{"schema":"sepbeat-model/1","tls":{"minimumVersion":"1.3"}}"#

    /// Runs tshark with `arguments`; returns its standard output (its standard error, which says it runs as
    /// root in a container, is dropped).
    private func tshark(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(tsharkPath))
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "tshark \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }

    @Test func validateUnderThe13ModelFindsOnlyTheOldTLSFault() throws {
        let dir = try TemporaryFolder()
        let model = dir.write("m13.json", Self.model13)
        let capture = try dir.simulatedCapture("fleet13.pcap", [
            "--model", model, "--clients", "8", "--duration", "1h", "--http-share", "0", "--push-share", "0.25",
            "--fault", "old-tls", "--seed", "4",
        ])
        let truth = try String(contentsOfFile: capture + ".truth.json", encoding: .utf8)
        #expect(truth.contains("\"tlsVersion\": \"1.3\""))
        #expect(truth.contains("\"tlsVersion\": \"1.0\""))
        #expect(!truth.contains("\"tlsVersion\": \"1.2\""))
        let servers = ["--server", "10.1.0.10", "--server", "10.1.0.11"]
        let validate = CLIRun(["validate", "--color", "never", "--model", model] + servers + [capture])
        let row = try #require(validate.stdout.split(separator: "\n").first { $0.contains(" tls-version ") })
        #expect(row.hasPrefix("  FAIL"), "\(validate.stdout)")
        // The code names the model's minimum, as the message does (and as the ground truth expects).
        #expect(validate.stdout.contains("1 finding; first: tls-below-1.3"), "\(validate.stdout)")
        #expect(validate.stdout.contains("used TLS 1.0, below the minimum 1.3"))
        #expect(!validate.stdout.contains("tls-below-1.2"))
        #expect(truth.contains("\"codes\": [\"tls-below-1.3\"]"))
        let connectivity = try #require(validate.stdout.split(separator: "\n").first { $0.contains(" connectivity ") })
        #expect(connectivity.hasPrefix("  pass"))
    }

    @Test(.enabled(if: tsharkPath != nil, "tshark is not installed"))
    func tsharkReadsTheTLS13HandshakesCleanly() throws {
        let dir = try TemporaryFolder()
        let model = dir.write("m13.json", Self.model13)
        let capture = try dir.simulatedCapture("fleet13.pcap", [
            "--model", model, "--clients", "4", "--duration", "20m", "--http-share", "0", "--push-share", "0.25",
            "--full-share", "0.5", "--seed", "2",
        ])
        let expert = try tshark(["-r", capture, "-q", "-z", "expert", "-o", "tcp.check_checksum:TRUE",
                                 "-o", "ip.check_checksum:TRUE"])
        #expect(!expert.contains("Malformed"), "\(expert)")
        #expect(!expert.localizedCaseInsensitiveContains("error"), "\(expert)")
        #expect(!expert.contains("Warnings ("), "\(expert)")
        // Every ServerHello chooses TLS 1.3, and every ClientHello offers it.
        let chosen = try tshark(["-r", capture, "-Y", "tls.handshake.type == 2", "-T", "fields",
                                 "-e", "tls.handshake.extensions.supported_version"])
        let lines = chosen.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0 == "0x0304" }, "\(chosen)")
        let offered = try tshark(["-r", capture, "-Y", "tls.handshake.type == 1", "-T", "fields",
                                  "-e", "tls.handshake.extensions.supported_version"])
        #expect(offered.split(separator: "\n").allSatisfy { $0 == "0x0304" }, "\(offered)")
        #expect(offered.split(separator: "\n").count == lines.count)
    }
}
