import Foundation
import Testing
import TestSupport

@testable import CLI

/// Option values the parser refuses (usage errors, exit status 2, one line naming the option) or
/// takes in tcpdump's shorthand, and SyLink.xml values refused as the options' values are.
@Suite struct OptionRefusalTests {
    // MARK: - -f/--filter

    @Test(arguments: ["analyze", "audit", "validate", "flows"])
    func aSecondFilterIsRefused(_ command: String) {
        let path = heartbeatCapture("https-idle")
        for args in [["-f", "port 443", "-f", "port 8014"], ["--filter", "port 443", "-fport 8014"],
                     ["-f", "port 443", "--filter=port 443"]] {
            let run = CLIRun([command, "-q"] + args + [path])
            #expect(run.status == 2, "\(args): \(run.stderr)")
            #expect(run.stderr == "sepbeat \(command): -f/--filter is given more than once; give one filter "
                + "(join expressions with 'and')\n")
        }
        #expect(CLIRun([command, "-q", "-f", "port 443 and tcp", path]).status != 2)
    }

    /// Every option that takes one value is refused when given twice (a second value would silently
    /// replace the first), as `-f` is; the list options (`-r`, `--server`, `simulate --fault`) take more.
    @Test func aSecondValueOfASingleValuedOptionIsRefused() throws {
        let path = heartbeatCapture("https-idle")
        let cases: [(String, [String], String)] = [
            ("analyze", ["--interval", "300", "--interval=600"], "--interval"),
            ("analyze", ["-F", "json", "-Ftext"], "-F/--format"),
            ("audit", ["--model", path, "--model", path], "--model"),
            ("validate", ["--sylink", path, "--sylink", path], "--sylink"),
            ("analyze", ["-j", "2", "--jobs", "2"], "-j/--jobs"),
            ("model", ["--interval", "300", "--interval", "600"], "--interval"),
        ]
        for (command, args, key) in cases {
            let run = CLIRun([command, "-q"] + args + (command == "model" ? [] : [path]))
            #expect(run.status == ExitStatus.usage, "\(args): \(run.stderr)")
            #expect(run.stderr == "sepbeat \(command): \(key) is given more than once; give it once "
                + "(a second value would replace the first)\n", "\(args)")
        }
        // Repeatable ones still add up; flags may be given twice.
        #expect(CLIRun(["analyze", "-q", "-q", "--server", "10.1.0.10", "--server", "10.1.0.11", "-r", path]).status
            != ExitStatus.usage)
        let dir = try TemporaryFolder()
        let sim = CLIRun(["simulate", "-q", "-o", dir.path + "/s.pcap", "--clients", "4", "--duration", "30m",
                          "--fault", "missed", "--fault", "late"])
        #expect(sim.status == ExitStatus.ok, "\(sim.stderr)")
        let twice = CLIRun(["simulate", "-q", "-o", dir.path + "/t.pcap", "--seed", "1", "--seed", "2"])
        #expect(twice.status == ExitStatus.usage)
        #expect(twice.stderr.hasPrefix("sepbeat simulate: --seed is given more than once"), "\(twice.stderr)")
    }

    // MARK: - -o/--output

    @Test(arguments: ["analyze", "audit", "validate", "flows", "model", "simulate"])
    func anEmptyOutputIsAUsageError(_ command: String) {
        let operands = ["model", "simulate"].contains(command) ? [] : [heartbeatCapture("https-idle")]
        for args in [["-o", ""], ["--output", ""], ["--output="]] {
            let run = CLIRun([command, "-q"] + args + operands)
            #expect(run.status == 2, "\(args): \(run.stderr)")
            #expect(run.stderr == "sepbeat \(command): -o/--output needs a file name, got an empty value\n")
        }
    }

    /// `--model ''` and `--sylink ''` were read as a file named '' (`: cannot be read (missing or not a file)`).
    @Test(arguments: ["analyze", "audit", "validate", "model", "simulate"])
    func anEmptySettingsFileNameIsAUsageError(_ command: String) {
        let operands = command == "model" ? [] : command == "simulate" ? ["-o", "/dev/null"]
            : [heartbeatCapture("https-idle")]
        var cases = [(["--model", ""], "--model needs a file name, got an empty value"),
                     (["--model="], "--model needs a file name, got an empty value")]
        if command != "simulate" {
            cases.append((["--sylink", ""], "--sylink needs a file name, got an empty value"))
        }
        for (args, message) in cases {
            let run = CLIRun([command, "-q"] + args + operands)
            #expect(run.status == 2, "\(args): \(run.stderr)")
            #expect(run.stderr == "sepbeat \(command): \(message)\n", "\(args)")
        }
    }

    /// `-r ''` was read as a file named '' (`: no such file`, exit status 3).
    @Test(arguments: ["analyze", "audit", "validate", "flows"])
    func anEmptyCaptureNameIsAUsageError(_ command: String) {
        for (args, message) in [(["-r", ""], "-r/--read needs a file name, got an empty value"),
                                (["--read="], "-r/--read needs a file name, got an empty value"),
                                ([""], "a capture file name is empty ('' among the operands)"),
                                (["--", ""], "a capture file name is empty ('' among the operands)")] {
            let run = CLIRun([command, "-q"] + args)
            #expect(run.status == 2, "\(args): \(run.stderr)")
            #expect(run.stderr == "sepbeat \(command): \(message)\n", "\(args)")
        }
    }

    // MARK: - --server

    @Test func aURLGivenToServerIsRefusedAsAURL() {
        let path = heartbeatCapture("https-idle")
        for url in ["http://10.1.0.10", "https://sepm.example.net:8443/", "10.1.0.10/secars"] {
            let run = CLIRun(["analyze", "-q", "--server", url, path])
            #expect(run.status == 2, "\(url): \(run.stderr)")
            #expect(run.stderr == "sepbeat analyze: --server: must be HOST or HOST:PORT: an IPv4 address, "
                + "[IPv6]:PORT or a host name (no scheme or path), got \"\(url)\"\n", "\(url)")
        }
    }

    @Test func anAmbiguousBareIPv6ServerIsRefusedInOneLine() {
        let run = CLIRun(["analyze", "-q", "--server", "::1:443", heartbeatCapture("https-idle")])
        #expect(run.status == 2)
        #expect(run.stderr == "sepbeat analyze: --server: \"::1:443\" is ambiguous: write [::1]:443 for ::1 port 443, "
            + "or [::1:443] for the address ::1:443\n")
    }

    // MARK: - Bundled short options

    @Test func shortFlagsBundleAsInTcpdump() {
        let path = heartbeatCapture("https-idle")
        let plain = CLIRun(["analyze", "-q", "-F", "json", path])
        #expect(plain.status == 0)
        for bundle in [["-qFjson"], ["-qF", "json"]] {
            let run = CLIRun(["analyze"] + bundle + [path])
            #expect(run.status == 0, "\(bundle): \(run.stderr)")
            #expect(run.stdout == plain.stdout, "\(bundle)")
            #expect(run.stderr.isEmpty, "\(bundle): -q applies")
        }
        // The bundle's next option must exist; a value after a flag that is not a letter stays refused;
        // -h and -V bundle like any flag (what follows them is read, not dropped).
        let refused = [
            ("-qZ", "unknown option '-Z' (see 'sepbeat analyze --help')"),
            ("-q5", "option '-q' takes no value"),
            ("--quiet=yes", "option '--quiet' takes no value"),
            ("-qhx", "unknown option '-x' (see 'sepbeat analyze --help')"),
        ]
        for (word, message) in refused {
            let run = CLIRun(["analyze", word, path])
            #expect(run.status == 2, "\(word)")
            #expect(run.stderr == "sepbeat analyze: \(message)\n", "\(word)")
        }
        #expect(CLIRun(["analyze", "-qh"]).status == 0)
    }

    // MARK: - SyLink.xml values, as the options take them

    @Test func syLinkServerAddressLikeAURLIsRefusedNamingFileAndValue() throws {
        let folder = try TemporaryFolder()
        let example = try String(contentsOfFile: Fixtures.exampleSyLink, encoding: .utf8)
        for bad in ["https://10.1.0.10/", "10.1.0.10:443", "[2001:db8::1]"] {
            let path = folder.write("SyLink.xml", example.replacingOccurrences(of: "198.51.100.1", with: bad))
            for command in ["model", "validate"] {
                let operands = command == "model" ? [] : [heartbeatCapture("https-idle")]
                let run = CLIRun([command, "-q", "--sylink", path] + operands)
                #expect(run.status == 2, "\(bad) \(command): \(run.stderr)")
                #expect(run.stderr.hasPrefix("sepbeat \(command): \(path): Server #1 (line "), "\(run.stderr)")
                #expect(run.stderr.hasSuffix("got \"\(bad)\"\n"), "\(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1)
            }
        }
    }

    @Test func pushIntervalsBelowTenSecondsAreRefusedFromModelAndSyLink() throws {
        let folder = try TemporaryFolder()
        let example = try String(contentsOfFile: Fixtures.exampleSyLink, encoding: .utf8)
        let sylink = folder.write("SyLink.xml", example.replacingOccurrences(
            of: #"PushHeartbeatSeconds="300""#, with: #"PushHeartbeatSeconds="1""#))
        let fromSyLink = CLIRun(["model", "--sylink", sylink])
        #expect(fromSyLink.status == 2)
        #expect(fromSyLink.stderr == "sepbeat model: \(sylink): PushHeartbeatSeconds must be a whole number of "
            + "seconds from 10 to 604800, got \"1\"\n")

        let model = folder.write("model.json", #"{"push": {"heartbeatSeconds": 0.001}}"#)
        for command in ["model", "audit", "simulate"] {
            let operands = command == "audit" ? [heartbeatCapture("https-idle")]
                : command == "simulate" ? ["-o", folder.path + "/fleet.pcap"] : []
            let run = CLIRun([command, "-q", "--model", model] + operands)
            #expect(run.status == 2, "\(command): \(run.stderr)")
            let refusal = "\(model): field \"push.heartbeatSeconds\" must be at least 10 seconds, got 0.001"
            #expect(run.stderr.contains(refusal), "\(command): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/fleet.pcap"))
    }
}
