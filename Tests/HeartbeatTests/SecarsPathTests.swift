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
