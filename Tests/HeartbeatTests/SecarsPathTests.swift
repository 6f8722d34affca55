import Core
import Records
import Testing

@testable import Heartbeat

/// Which request targets count as the management server's `secars.dll` (case-insensitive path, an
/// absolute-form target, a query that does not matter), compared without copying ASCII targets.
@Suite struct SecarsPathTests {
    let directory = ManagerDirectory(model: .builtIn, sylink: nil)

    func secars(_ target: String) -> Bool {
        directory.isSecars(HTTPTransaction(method: "GET", target: target, version: "HTTP/1.1"))
    }

    @Test func pathMatchesWithoutRegardToCase() {
        #expect(secars("/secars/secars.dll"))
        #expect(secars("/SECARS/Secars.DLL?h=00ff"))
        #expect(secars("/secars/secars.dll?"))
        #expect(secars("http://sepm.example.test:8014/secars/secars.dll?h=1"))
        #expect(secars("HTTPS://sepm/Secars/Secars.dll"))
    }

    @Test func otherPathsDoNotMatch() {
        #expect(!secars("/secars/secars.dl"))
        #expect(!secars("/secars/secars.dllx"))
        #expect(!secars("/x/secars/secars.dll"))
        #expect(!secars("?/secars/secars.dll"))
        #expect(!secars(""))
        #expect(!secars("/\u{17F}ecar\u{17F}/\u{17F}ecar\u{17F}.dll"))
        #expect(!directory.isSecars(nil))
    }

    @Test func nonASCIITargetsUseUnicodeLowerCasing() {
        // U+0130 lower-cases to "i" and a combining dot: never the ASCII path.
        #expect(!secars("/SECARS/SECARS.DLL\u{130}"))
        #expect(secars("http\u{e9}://x/secars/secars.dll"))
        #expect(secars("HTTP://h\u{e9}te/SECARS/SECARS.DLL?\u{e9}"))
    }
}

/// The byte comparison of ASCII targets gives what the comparison by Unicode lower-casing gives.
@Suite struct SecarsPathBytesTests {
    let directory = ManagerDirectory(model: .builtIn, sylink: nil)

    /// The answer by `String.lowercased()`, as for a target outside ASCII.
    func byLowerCasing(_ target: String) -> Bool {
        let path = String(target.prefix { $0 != "?" }).lowercased()
        let secars = directory.secarsPath
        return path == secars || path.hasSuffix(secars) && path.hasPrefix("http")
    }

    @Test func bytesAgreeWithLowerCasing() {
        let pieces = ["", "/", "?", "h", "HTTP", "http://x", "/secars", "/SECARS/", "secars.dll", "SECARS.DLL",
                      "/secars/secars.dll", "?h=1", "x", "://"]
        var checked = 0
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let target = a + b + c
                    let request = HTTPTransaction(method: "GET", target: target, version: "HTTP/1.1")
                    let answer = directory.isSecars(request)
                    #expect(answer == byLowerCasing(target), "\(target)")
                    checked += 1
                }
            }
        }
        #expect(checked == pieces.count * pieces.count * pieces.count)
    }

    @Test func pathWithNonASCIIByteIsLeftToLowerCasing() {
        let secars = Array(directory.secarsPath.utf8)
        let target = Array("/secars/secars.dll\u{e9}".utf8)
        let answer = target.withUnsafeBufferPointer { t in
            secars.withUnsafeBufferPointer { ManagerDirectory.isSecarsASCII(t, $0) }
        }
        #expect(answer == nil)
        let query = Array("/SECARS/SECARS.DLL?\u{e9}".utf8)
        let queried = query.withUnsafeBufferPointer { t in
            secars.withUnsafeBufferPointer { ManagerDirectory.isSecarsASCII(t, $0) }
        }
        #expect(queried == true)
    }
}
