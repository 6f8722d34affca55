import Core

/// A stretch of a capture holding a few packets stamped far off its clock, in the middle of the capture's
/// own packets: a connection (or a few) dated a day or a year away, or one stray packet. The capture's
/// timeline leaves such a stretch out (`CaptureTimeline` in Analysis), so it makes no silence; a check-in
/// starting inside it has no time on the capture's clock, and a client's intervals to it are not judged
/// when most of the client's check-ins are on the clock (a client whose check-ins are mostly off keeps its
/// own times: its clock is off, and its intervals hold).
public struct OffClockStretch: Hashable, Sendable {
    public var start: Timestamp
    public var end: Timestamp

    public init(start: Timestamp, end: Timestamp) {
        self.start = start
        self.end = end
    }

    /// Whether `time` lies in the stretch (edges included).
    public func holds(_ time: Timestamp) -> Bool { time >= start && time <= end }

    /// Whether each of `times` (one client's check-ins) lies in one of `stretches`; all false unless
    /// fewer than half do: a client whose check-ins are mostly off has a clock of its own (each of its
    /// check-ins may make a stretch), kept with its own times. O(t × s); the stretches are few.
    public static func offClock(_ times: [Timestamp], in stretches: [OffClockStretch]) -> [Bool] {
        let none = [Bool](repeating: false, count: times.count)
        guard !stretches.isEmpty else { return none }
        let off = times.map { t in stretches.contains { $0.holds(t) } }
        return off.count(where: { $0 }) * 2 < times.count ? off : none
    }
}
