// swift-tools-version:6.2
import PackageDescription

// Layers, lowest first. Only `Capture` touches C (through `CPcap`, and `CZlib`, `CLzma` and `CBzip2` for
// compressed files, `CPrefetch` for a cache hint), and `FuzzTargets`, which compresses its inputs through the
// same libraries; every other library module can be tested by feeding it bytes or records.
//
//   Core        timestamps, addresses, link types (no Foundation)
//   Records     connection and exchange records: what the heartbeat layer reads
//   Capture     capture files in, packet records out (libpcap, own pcap/pcapng reader)
//   ZeekLogs    Zeek's conn.log, http.log and ssl.log in, connection records out (beside Capture)
//   Decoding    link, IP and TCP headers; IP fragment reassembly
//   Streams     connection table, TCP reassembly per direction
//   Protocols   HTTP/1.x and TLS parsers fed with stream bytes
//   Heartbeat   reference model, SyLink.xml, check-ins, steps, findings
//   Analysis    the pipeline that wires the layers above into one incremental run
//   Reports     the report formats: text, JSON, JSON Lines, CSV, HTML
//   Simulation  synthetic fleet captures with ground truth (sepbeat simulate, benchmarks)
//   CLI         option parsing, exit statuses, subcommands (uses Simulation for simulate)
var targets: [Target] = [
    .systemLibrary(
        name: "CPcap",
        pkgConfig: "libpcap",
        providers: [.apt(["libpcap-dev"]), .brew(["libpcap"])]
    ),
    // Compressed capture files (gzip, xz, bzip2) are decompressed as they are read (Capture's CompressedInput).
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
    .systemLibrary(name: "CLzma", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"]), .brew(["xz"])]),
    // Debian's libbz2-dev ships no pkg-config file: the header and library are found in the default paths.
    .systemLibrary(name: "CBzip2", providers: [.apt(["libbz2-dev"]), .brew(["bzip2"])]),
    // A header only, with no library: the prefetch hint the read-ahead gives for the record after the one it
    // hands over (Swift has none of its own).
    .systemLibrary(name: "CPrefetch"),
    .target(name: "Core"),
    .target(name: "Capture", dependencies: ["CPcap", "CZlib", "CLzma", "CBzip2", "CPrefetch", "Core"]),
    .target(name: "ZeekLogs", dependencies: ["Core", "Records"]),
    .target(name: "Decoding", dependencies: ["Core"]),
    .target(name: "Streams", dependencies: ["Core", "Records"]),
    .target(name: "Protocols", dependencies: ["Core", "Records"]),
    .target(name: "Records", dependencies: ["Core"]),
    // The model's JSON is compiled in (ReferenceModel+BuiltInText.swift, made by Scripts/embed-model.sh),
    // so an installed binary needs no resource folder beside it.
    .target(
        name: "Heartbeat", dependencies: ["Core", "Records"], exclude: ["Resources/reference-model.json"]
    ),
    .target(name: "Analysis", dependencies: ["Core", "Capture", "Decoding", "Streams", "Protocols", "Records"]),
    .target(name: "Reports", dependencies: ["Core", "Records", "Protocols", "Heartbeat", "Analysis"]),
    .target(name: "Simulation", dependencies: ["Core", "Heartbeat"]),
    .target(
        name: "CLI",
        dependencies: [
            "Core", "Records", "Capture", "ZeekLogs", "Streams", "Analysis", "Heartbeat", "Reports", "Simulation",
        ]
    ),
    .executableTarget(name: "sepbeat", dependencies: ["Core", "CLI"]),
    .executableTarget(
        name: "sepbeat-bench", dependencies: ["Core", "Capture", "Records", "Analysis", "Heartbeat"]
    ),

    .target(name: "TestSupport", dependencies: ["Core"], path: "Tests/TestSupport"),
    .testTarget(name: "CoreTests", dependencies: ["Core", "TestSupport"]),
    .testTarget(name: "CaptureTests", dependencies: ["Capture", "TestSupport"]),
    .testTarget(name: "ZeekLogsTests", dependencies: ["ZeekLogs", "Records", "TestSupport"]),
    .testTarget(name: "DecodingTests", dependencies: ["Decoding", "TestSupport"]),
    .testTarget(name: "StreamsTests", dependencies: ["Streams", "Records", "TestSupport"]),
    .testTarget(name: "ProtocolsTests", dependencies: ["Protocols", "Records", "TestSupport"]),
    .testTarget(name: "HeartbeatTests", dependencies: ["Heartbeat", "Records", "TestSupport"]),
    .testTarget(
        name: "CLITests",
        dependencies: ["CLI", "Analysis", "Records", "Reports", "TestSupport", "FuzzTargets", "ZeekLogs"]),
    .testTarget(
        name: "SimulationTests", dependencies: ["Simulation", "Capture", "Analysis", "Heartbeat", "TestSupport"]
    ),

    // One entry point per parser taking raw bytes (see Scripts/fuzz.sh), and the deterministic
    // mutation tests that run them on every `swift test`.
    .target(
        name: "FuzzTargets",
        dependencies: ["Core", "Capture", "CZlib", "CLzma", "CBzip2", "Decoding", "Protocols", "Records", "Heartbeat",
                       "Analysis", "ZeekLogs"]
    ),
    .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "Capture", "Core", "TestSupport"]),
]

// The libFuzzer driver exists only with SEPBEAT_FUZZ=1, built by Scripts/fuzz.sh with
// `--sanitize fuzzer -Xswiftc -sanitize=fuzzer,address` (libFuzzer supplies `main`); a plain build never
// sees it.
if Context.environment["SEPBEAT_FUZZ"] == "1" {
    targets.append(.executableTarget(name: "sepbeat-fuzz", dependencies: ["FuzzTargets"], path: "Fuzz/sepbeat-fuzz"))
}

let package = Package(
    name: "sepbeat",
    products: [
        .executable(name: "sepbeat", targets: ["sepbeat"]),
        .library(name: "SepbeatKit", targets: ["Analysis", "Heartbeat", "Reports", "ZeekLogs"]),
    ],
    targets: targets
)
