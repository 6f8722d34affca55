/// Limits that keep a corrupt capture from costing unbounded memory or time.
///
/// Hitting a limit is reported as a `CaptureWarning`, never a crash.
public struct CaptureLimits: Sendable {
    /// Largest pcapng block the own reader reads, in bytes (default 16 MiB, as libpcap).
    /// A block claiming more is passed over unread when its length is repeated at its end (counted and
    /// warned about); otherwise its length is taken as corrupt and reading that file stops there.
    public var maximumBlockLength: Int = 16 * 1024 * 1024

    /// Most link types a filter is compiled for per file (default 64); packets of
    /// further link types are left out and reported.
    public var maximumFilterPrograms: Int = 64

    public init() {}

    public static let `default` = CaptureLimits()
}
