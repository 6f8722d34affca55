#if canImport(Glibc)
import Glibc
#endif

/// Reads the tshark tables beside each oracle capture (`.tcp.tsv`, `.http.tsv`, `.tls.tsv`).
public enum Oracle {
    /// Every capture under `corpus/oracle`, as paths relative to that folder (`http/get.pcap`), sorted.
    public static func captures() -> [String] {
        var out: [String] = []
        for folder in ["http", "link", "tcp", "tls"] {
            for name in listDirectory(Fixtures.corpus + "/oracle/" + folder) where name.hasSuffix(".pcap")
                || name.hasSuffix(".pcapng") {
                out.append(folder + "/" + name)
            }
        }
        return out.sorted()
    }

    public static func path(_ relative: String) -> String { Fixtures.corpus + "/oracle/" + relative }

    /// Rows of a TSV file without its header line; nil when the file does not exist.
    public static func table(_ path: String) -> [[String]]? {
        guard let text = readTextFile(path) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        return lines.dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }
}

public func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

public func readTextFile(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, f) }
        if n <= 0 { break }
        data += buffer[0..<n]
    }
    return String(decoding: data, as: UTF8.self)
}
