import Core

extension ReferenceModel {
    /// The longest interval or time span accepted from any source (model file, `--interval`,
    /// SyLink.xml): one week, 604,800 s. Keeps every interval in nanoseconds far inside `Int64`.
    public static let maxIntervalSeconds: Double = 604_800

    /// Shortest pull interval taken from any source (`--interval`, SyLink.xml, a model file,
    /// `simulate`): 10 s. Shorter timers are not SEP heartbeats, and the rules that tell check-ins
    /// apart (attempt window, join gap) need gaps well above a second.
    public static let minIntervalSeconds: Double = 10

    /// The model judging against the pull interval `seconds` taken from `--interval` or SyLink.xml.
    ///
    /// The model's tolerance and accelerated range were written for its own interval; when they
    /// do not fit a shorter one they are derived from it: tolerance `T = min(model T, I / 10)` and
    /// accelerated maximum `A = min(model A, I / 5)` and longest accelerated run `R = min(model R, I)` (exactly
    /// the built-in 30 s, 60 s and 300 s at the default 300 s, so a longer interval keeps them). `I` equal to
    /// the model's own `interval.seconds` keeps its values as they are. Cost: O(1).
    ///
    /// - Parameters:
    ///   - seconds: the interval `I`; from `minIntervalSeconds` to `maxIntervalSeconds`.
    ///   - pinned: true for `--interval` (SyLink.xml may then not change it).
    ///   - source: names the source in the error (`--interval`, the SyLink file and attribute).
    /// - Throws: `ModelError` when `seconds` is out of range.
    public func withDerivedInterval(seconds: Double, pinned: Bool, source: String) throws(ModelError)
        -> ReferenceModel {
        guard seconds.isFinite, seconds >= Self.minIntervalSeconds, seconds <= Self.maxIntervalSeconds else {
            throw ModelError(file: source, field: nil, problem: "must be a number of seconds from "
                + "\(Int(Self.minIntervalSeconds)) to \(Int(Self.maxIntervalSeconds)), got \(formatSeconds(seconds))")
        }
        var m = self
        // The model's own interval: its tolerance and ranges were written for it (a file tuned for 600 s with
        // 90 s of tolerance, run with a SyLink.xml of 600 s), so they stand. Once derived, they are not its own.
        let own = interval.ownRules == nil && seconds == interval.seconds
        let rules = own ? interval.modelRules : intervalRules(forSeconds: seconds)
        m.interval.ownRules = interval.modelRules
        m.interval.seconds = seconds
        m.interval.toleranceSeconds = rules.toleranceSeconds
        m.interval.acceleratedMaxSeconds = rules.acceleratedMaxSeconds
        m.interval.acceleratedRunMaxSeconds = rules.acceleratedRunMaxSeconds
        m.interval.pinned = pinned
        return m
    }

    /// The tolerance `T`, accelerated maximum `A` and longest accelerated run `R` an interval of `seconds`
    /// is judged with: the model's values, made smaller where they do not fit it: `T = min(model T, I / 10)`,
    /// `A = min(model A, I / 5)`, `R = min(model R, I)`. `withDerivedInterval` sets the pull interval's from
    /// it; the push heartbeat's are derived the same way from the push interval (so a 30 s push heartbeat is
    /// judged 30 s ± 3 s with an accelerated range of 0-6 s, not with the pull interval's 30 s and 60 s).
    /// Cost: O(1).
    public func intervalRules(forSeconds seconds: Double) -> IntervalRules {
        let own = interval.modelRules
        return IntervalRules(toleranceSeconds: min(own.toleranceSeconds, Self.share(of: seconds, by: 10)),
                             acceleratedMaxSeconds: min(own.acceleratedMaxSeconds, Self.share(of: seconds, by: 5)),
                             acceleratedRunMaxSeconds: min(own.acceleratedRunMaxSeconds, seconds))
    }
}

extension ReferenceModel {
    /// `seconds / divisor` to the microsecond, as every report gives times: 13.7 / 5 is 2.7399999999999998 in
    /// binary, which `sepbeat model` printed as such.
    static func share(of seconds: Double, by divisor: Double) -> Double { (seconds / divisor * 1e6).rounded() / 1e6 }
}

/// How the gaps of one interval are judged (`ReferenceModel.intervalRules(forSeconds:)`), in seconds.
public struct IntervalRules: Hashable, Sendable {
    public var toleranceSeconds: Double
    public var acceleratedMaxSeconds: Double
    public var acceleratedRunMaxSeconds: Double

    public init(toleranceSeconds: Double, acceleratedMaxSeconds: Double, acceleratedRunMaxSeconds: Double) {
        self.toleranceSeconds = toleranceSeconds
        self.acceleratedMaxSeconds = acceleratedMaxSeconds
        self.acceleratedRunMaxSeconds = acceleratedRunMaxSeconds
    }
}

/// Seconds as nanoseconds for the interval rules.
enum Nanos {
    /// `s` seconds as nanoseconds, clamped to `Int64` (NaN gives 0).
    static func from(seconds s: Double) -> Int64 { Saturating.clamp((s * 1e9).rounded()) }
}

/// Saturating `Int64` arithmetic for values derived from input (times, byte counts, model values).
enum Saturating {

    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? (b < 0 ? Int64.min : Int64.max) : s
    }

    static func subtract(_ a: Int64, _ b: Int64) -> Int64 {
        let (s, o) = a.subtractingReportingOverflow(b)
        return o ? (b < 0 ? Int64.max : Int64.min) : s
    }

    static func multiply(_ a: Int64, _ b: Int64) -> Int64 {
        let (p, o) = a.multipliedReportingOverflow(by: b)
        return o ? ((a < 0) == (b < 0) ? Int64.max : Int64.min) : p
    }

    /// `Double` to `Int64`, clamped (NaN gives 0).
    static func clamp(_ d: Double) -> Int64 {
        guard !d.isNaN else { return 0 }
        if d >= 9.2e18 { return Int64.max }
        if d <= -9.2e18 { return Int64.min }
        return Int64(d)
    }
}
