/// A small, fast, seedable generator (SplitMix64) so that a simulation is the same on every run.
///
/// Not for cryptography. Each client draws from its own generator, derived from the fleet seed
/// and the client's index, so the order in which clients are planned never changes their traffic.
struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64, stream: UInt64 = 0) {
        state = seed &+ stream &* 0xD1B5_4A32_D192_ED03
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (both ends included).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// Uniform in `0..<1`.
    mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform nanoseconds in `-spread...spread`.
    mutating func jitter(_ spread: Int64) -> Int64 {
        spread <= 0 ? 0 : Int64.random(in: -spread...spread, using: &self)
    }
}
