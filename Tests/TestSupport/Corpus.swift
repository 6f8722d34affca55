import Core

/// Locates the shared capture corpus and the package's own `Captures/` folder.
///
/// The corpus lives in `../shared/corpus` beside the repository (read-only in CI).
/// `SEPBEAT_CORPUS` overrides the location.
public enum Fixtures {
    /// The repository root, found from this file's path.
    public static var packageRoot: String {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/TestSupport/Corpus.swift
        return parts.joined(separator: "/")
    }

    public static var corpus: String {
        if let v = getenvString("SEPBEAT_CORPUS") { return v }
        return packageRoot + "/../shared/corpus"
    }

    public static var captures: String { packageRoot + "/Captures" }

    /// The made-up client communication file of the shared folder (`../shared/docs/examples/SyLink.xml`).
    public static var exampleSyLink: String { packageRoot + "/../shared/docs/examples/SyLink.xml" }

    private static func getenvString(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }
}

#if canImport(Glibc)
import Glibc
#endif
