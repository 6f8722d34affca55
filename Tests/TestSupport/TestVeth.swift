import Foundation

/// A veth pair of a test's own (root only), up; its first end is `name`. It carries nothing beyond the
/// kernel's own link-local packets, and is removed when the value goes away.
public final class TestVeth: Sendable {
    public let name: String

    public init?(prefix: String) {
        name = "\(prefix)\(getpid() % 100_000)a"
        guard Self.ip(["link", "add", name, "type", "veth", "peer", "name", String(name.dropLast()) + "b"]) == 0
        else { return nil }
        setUp(true)
        _ = Self.ip(["link", "set", String(name.dropLast()) + "b", "up"])
    }

    deinit { delete() }

    public func setUp(_ up: Bool) { _ = Self.ip(["link", "set", name, up ? "up" : "down"]) }

    /// Deletes the pair (both ends); nothing when it is gone already.
    public func delete() { _ = Self.ip(["link", "del", name]) }

    private static func ip(_ arguments: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
