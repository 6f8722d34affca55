import Testing

@testable import Core

/// `ByteBuffer` holds exactly the bytes appended, in order, through every growth of its block; the
/// writers generic over `ByteSink` give it the bytes they give an `[UInt8]`.
@Suite struct ByteBufferTests {
    @Test func appendsKeepEveryByteInOrderAcrossGrowth() {
        var buffer = ByteBuffer(capacity: 1)  // made 16: grows several times below
        var expected: [UInt8] = []
        for i in 0..<1_000 {
            let byte = UInt8(truncatingIfNeeded: i &* 31)
            buffer.append(byte)
            expected.append(byte)
            if i % 7 == 0 {
                let run = (0..<(i % 45)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
                run.withUnsafeBufferPointer { buffer.append(contentsOf: $0) }
                expected += run
            }
        }
        #expect(buffer.count == expected.count)
        #expect(buffer.bytes == expected)
        #expect(buffer[0] == expected[0] && buffer[buffer.count - 1] == expected.last)
    }

    @Test func oneAppendLargerThanTwiceTheRoomFits() {
        var buffer = ByteBuffer(capacity: 16)
        let big = [UInt8](repeating: 7, count: 10_000)
        big.withUnsafeBufferPointer { buffer.append(contentsOf: $0) }
        buffer.append(8)
        #expect(buffer.bytes == big + [8])
        let none: [UInt8] = []
        none.withUnsafeBufferPointer { buffer.append(contentsOf: $0) }
        #expect(buffer.count == 10_001)
    }

    @Test func appendInPlaceKeepsOnlyWhatWasWritten() {
        var buffer = ByteBuffer(capacity: 16)
        buffer.append(1)
        buffer.append(most: 40) { room in
            #expect(room.count == 40)
            for i in 0..<3 { room[i] = UInt8(10 + i) }
            return 3
        }
        buffer.append(most: 5) { _ in 0 }
        buffer.append(2)
        #expect(buffer.bytes == [1, 10, 11, 12, 2])

        var array: [UInt8] = [1]
        array.append(most: 40) { room in
            for i in 0..<3 { room[i] = UInt8(10 + i) }
            return 3
        }
        #expect(array == [1, 10, 11, 12])
    }

    @Test func removingKeepsTheRoomAndForgetsTheBytes() {
        var buffer = ByteBuffer()
        for b: UInt8 in 1...5 { buffer.append(b) }
        buffer.removeLast(2)
        #expect(buffer.bytes == [1, 2, 3])
        buffer.removeAll()
        #expect(buffer.isEmpty && buffer.bytes.isEmpty)
        buffer.append(9)
        #expect(buffer.withBytes { Array($0) } == [9])
    }

    @Test func decimalsAreStringsTextInBothSinks() {
        var values: [UInt64] = [0, 9, 10, 11, 99, 100, 101, .max, .max - 1, 1 << 63]
        var p: UInt64 = 10
        for _ in 1...19 {
            values += [p - 1, p, p + 1]
            p = p &* 10
        }
        for v in values {
            var buffer = ByteBuffer(capacity: 16)
            var array: [UInt8] = []
            DecimalText.append(v, to: &buffer)
            DecimalText.append(v, to: &array)
            #expect(buffer.bytes == Array(String(v).utf8), "\(v)")
            #expect(array == Array(String(v).utf8), "\(v)")
        }
        for n: Int64 in [.min, -1, -10, 0, .max] {
            var buffer = ByteBuffer()
            DecimalText.append(n, to: &buffer)
            #expect(buffer.bytes == Array(String(n).utf8))
        }
    }

    @Test func addressTextIsDescriptionInABuffer() throws {
        for literal in ["0.0.0.0", "255.255.255.255", "10.0.1.9", "2001:db8::1", "::ffff:192.0.2.7"] {
            let a = try #require(IPAddress(literal))
            var buffer = ByteBuffer()
            a.appendText(to: &buffer)
            #expect(buffer.bytes == Array(a.description.utf8))
        }
    }
}
