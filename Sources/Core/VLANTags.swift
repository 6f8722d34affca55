/// The VLAN ids a frame carried, outermost first, held inline.
///
/// Up to three tags are kept (802.1ad outer, 802.1Q inner, one more for odd
/// stacks); `depth` counts every tag seen even when more than three were stacked.
public struct VLANTags: Hashable, Comparable, Sendable {
    public private(set) var outer: UInt16
    public private(set) var inner: UInt16
    public private(set) var third: UInt16
    /// Number of tags the frame carried (may exceed 3; only the first 3 ids are kept).
    public private(set) var depth: UInt8

    public static let none = VLANTags()

    public init() {
        outer = 0
        inner = 0
        third = 0
        depth = 0
    }

    public init(_ ids: [UInt16]) {
        self.init()
        for id in ids { append(id) }
    }

    /// Adds the next (more inner) tag's 12-bit id.
    public mutating func append(_ id: UInt16) {
        switch depth {
        case 0: outer = id & 0x0fff
        case 1: inner = id & 0x0fff
        case 2: third = id & 0x0fff
        default: break
        }
        if depth < UInt8.max { depth += 1 }
    }

    public var isEmpty: Bool { depth == 0 }

    /// The kept ids, outermost first.
    public var ids: [UInt16] {
        Array([outer, inner, third].prefix(Int(min(depth, 3))))
    }

    public static func < (a: VLANTags, b: VLANTags) -> Bool {
        (a.depth, a.outer, a.inner, a.third) < (b.depth, b.outer, b.inner, b.third)
    }
}

extension VLANTags: CustomStringConvertible {
    /// `-` when untagged, else ids joined by `/` (outermost first), e.g. `10/20`.
    public var description: String {
        isEmpty ? "-" : ids.map(String.init).joined(separator: "/")
    }
}
