import TestSupport

/// A small deterministic mutator for the fuzz-target tests: the same seed gives the same inputs on
/// every run and machine.
struct Mutator {
    private var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { random.next() }

    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }

    /// One to four mutations of `input`: bit flips, byte changes, inserts, deletes, duplicated runs,
    /// splices with `other`, length-like fields nudged, truncation.
    mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            switch below(9) {
            case 0 where !bytes.isEmpty:
                let i = below(bytes.count)
                bytes[i] ^= 1 << UInt8(below(8))
            case 1 where !bytes.isEmpty:
                bytes[below(bytes.count)] = [0, 0xff, 0x7f, 0x80, 1, UInt8(truncatingIfNeeded: next())][below(6)]
            case 2:
                let at = below(bytes.count + 1)
                let run = (0..<1 + below(8)).map { _ in UInt8(truncatingIfNeeded: next()) }
                bytes.insert(contentsOf: run, at: at)
            case 3 where !bytes.isEmpty:
                let at = below(bytes.count)
                bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(16)))
            case 4 where !bytes.isEmpty:
                let at = below(bytes.count)
                let run = bytes[at..<min(bytes.count, at + 1 + below(32))]
                bytes.insert(contentsOf: run, at: below(bytes.count + 1))
            case 5 where !other.isEmpty:
                let cut = below(bytes.count + 1)
                let from = below(other.count)
                bytes = Array(bytes[..<cut]) + other[from...]
            case 6 where bytes.count >= 2:
                // A 16-bit field in either byte order: nudged, zeroed or maxed.
                let i = below(bytes.count - 1)
                let value = Int(bytes[i]) << 8 | Int(bytes[i + 1])
                let changed = [value + 1, value - 1, 0, 0xffff, value + 0x100, value / 2][below(6)] & 0xffff
                if below(2) == 0 {
                    bytes[i] = UInt8(changed >> 8)
                    bytes[i + 1] = UInt8(changed & 0xff)
                } else {
                    bytes[i] = UInt8(changed & 0xff)
                    bytes[i + 1] = UInt8(changed >> 8)
                }
            case 7 where bytes.count >= 4:
                // A 32-bit little-endian field (pcap and pcapng lengths) nudged.
                let i = below(bytes.count - 3)
                let delta: UInt32 = [1, 4, 0xffff_ffff, 0xffff_fffc, 0x100][below(5)]
                var value = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                    | UInt32(bytes[i + 3]) << 24
                value &+= delta
                for k in 0..<4 { bytes[i + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
            case 8 where !bytes.isEmpty:
                bytes.removeSubrange(below(bytes.count)...)
            default:
                bytes.append(UInt8(truncatingIfNeeded: next()))
            }
        }
        return bytes
    }
}
