import Core

/// A stretch of the input with no packet at all: the capture was not running, or saw nothing.
///
/// The traffic layer finds them (`Analysis.CaptureSummary.silences`, stretches longer than
/// 60 s by default); the heartbeat layer reads them to tell "no check-in was sent" from "the
/// capture was not there to see it". Like every record, it says nothing about packets, so a
/// Zeek-log reader can produce it from its own coverage.
public struct CaptureSilence: Hashable, Sendable {
    /// Time of the last packet before the silence.
    public var start: Timestamp
    /// Time of the first packet after it.
    public var end: Timestamp
    /// True when the silence lies outside every file's span (first to last packet): the time
    /// between files of a merged run. False for a pause inside some file.
    public var betweenFiles: Bool
    /// True when the stretch lies between two pieces of one file's timeline that the capture's clock
    /// jumped across (set back, or one packet dated far away): time the capture did not record,
    /// whatever the packets' order. False for a pause the capture ran through.
    public var clockJump: Bool
    /// True for the instant of a step back of the clock read on the clock before it (`ClockSetBack`):
    /// `start` and `end` are both the last time before the step. How long the capture took from the last
    /// packet before it to the first after is unknown, so an interval across it is not observed however
    /// short (`hiding`).
    public var clockSetBack: Bool
    /// True for a stretch a live capture's interface was down (from when it was seen down to when it was
    /// seen up again): the capture saw nothing there because it could not.
    public var interfaceDown: Bool

    public init(start: Timestamp, end: Timestamp, betweenFiles: Bool = false, clockJump: Bool = false,
                clockSetBack: Bool = false, interfaceDown: Bool = false) {
        self.start = start
        self.end = end
        self.betweenFiles = betweenFiles
        self.clockJump = clockJump
        self.clockSetBack = clockSetBack
        self.interfaceDown = interfaceDown
    }

    /// Whether the capture certainly did not cover this stretch (between files, across a jump of its clock,
    /// or while its interface was down), as opposed to a pause it ran through and saw nothing in.
    public var uncovered: Bool { betweenFiles || clockJump || clockSetBack || interfaceDown }

    /// Length in seconds.
    public var seconds: Double { end.seconds(since: start) }

    /// Length in integer nanoseconds (0 when `end` is not after `start`).
    public var nanoseconds: Int64 { max(0, end.nanoseconds(since: start)) }

    /// Nanoseconds of the interval from `from` to `to` that this silence covers.
    public func overlap(from: Timestamp, to: Timestamp) -> Int64 {
        if clockSetBack { return 0 }
        let lo = max(start, from)
        let hi = min(end, to)
        return hi > lo ? hi.nanoseconds(since: lo) : 0
    }
}
