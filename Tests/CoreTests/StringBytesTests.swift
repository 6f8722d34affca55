import Foundation
import Testing

@testable import Core

/// `String.hasSameUTF8(as:)`: equal bytes, not canonical equivalence; native and bridged storage alike.
@Suite struct StringBytesTests {
    @Test func canonicallyEqualTextsWithOtherBytesDiffer() {
        let precomposed = "caf\u{00E9}"
        let combining = "cafe\u{0301}"
        #expect(precomposed == combining)
        #expect(!precomposed.hasSameUTF8(as: combining))
        #expect(!"a\u{0301}\u{0323}".hasSameUTF8(as: "a\u{0323}\u{0301}"))
        #expect(precomposed.hasSameUTF8(as: "caf\u{00E9}"))
        #expect("".hasSameUTF8(as: ""))
        #expect(!"".hasSameUTF8(as: "a"))
    }

    @Test func storageWithoutContiguousBytesIsComparedByteByByte() {
        let long = String(repeating: "sepm.example.test/", count: 4)
        let bridged = NSString(string: long) as String  // may not give contiguous UTF-8
        #expect(bridged.hasSameUTF8(as: long) && long.hasSameUTF8(as: bridged))
        #expect(!bridged.hasSameUTF8(as: long + "x"))
    }
}
