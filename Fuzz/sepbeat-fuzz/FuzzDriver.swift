// The libFuzzer driver: one binary for every entry point of FuzzTargets, the target named by
// $SEPBEAT_FUZZ_TARGET. Built only by Scripts/fuzz.sh (SEPBEAT_FUZZ=1, `--sanitize fuzzer`), which
// links libFuzzer's own `main`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FuzzTargets

/// The target picked at start-up (set once, before the first input).
nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    let name = getenv("SEPBEAT_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
        let message = Array("sepbeat-fuzz: set SEPBEAT_FUZZ_TARGET to one of: \(names)\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
    selected = target
    // Scripts/fuzz.sh passes the working corpus here: the target's own samples go in as seeds.
    if let directory = getenv("SEPBEAT_FUZZ_SEEDS").map({ String(cString: $0) }) {
        for (i, sample) in target.samples.enumerated() {
            guard let file = fopen("\(directory)/sample-\(i)", "wb") else { continue }
            _ = sample.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
