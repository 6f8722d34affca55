import Core

/// Writes a little-endian pcapng file in pure Swift: one section, any number of
/// interfaces (each with its own link type and snaplen, nanosecond clocks), and
/// Enhanced Packet Blocks.
///
/// Useful for files libpcap 1.10 cannot read (interfaces of different link types).
/// Call `close()` to flush and learn about write errors.
public final class PcapNGFileWriter {
    public let path: String
    private var file: CFile?
    private var interfaces: [LinkType] = []

    /// Creates (or replaces) `path` and writes the Section Header Block.
    public init(path: String) throws(CaptureError) {
        self.path = path
        switch CFile.open(path, mode: "wb") {
        case .success(let opened): file = opened
        case .failure(let failure): throw CaptureError(path: path, opening: failure)
        }
        var body = LittleEndianBytes()
        body.append32(0x1A2B_3C4D)
        body.append16(1)
        body.append16(0)
        body.append32(0xFFFF_FFFF)  // section length unknown (-1 as 64 bits)
        body.append32(0xFFFF_FFFF)
        try writeBlock(type: 0x0A0D_0D0A, body: body.bytes, data: nil)
    }

    /// Declares an interface; returns its number for `append`.
    @discardableResult
    public func addInterface(linkType: LinkType, snapLength: Int = 262_144) throws(CaptureError) -> Int {
        var body = LittleEndianBytes()
        body.append16(UInt16(truncatingIfNeeded: linkType.rawValue))
        body.append16(0)
        body.append32(UInt32(clamping: snapLength))
        body.append16(9)  // if_tsresol: 10^-9 s
        body.append16(1)
        body.append32(9)  // the value byte, then 3 padding bytes
        body.append32(0)  // opt_endofopt
        try writeBlock(type: 1, body: body.bytes, data: nil)
        interfaces.append(linkType)
        return interfaces.count - 1
    }

    /// Appends an Enhanced Packet Block. Times before the epoch are written as 0.
    public func append(interface: Int, timestamp: Timestamp, bytes: UnsafeRawBufferPointer,
                       originalLength: Int? = nil) throws(CaptureError) {
        precondition(interfaces.indices.contains(interface), "append on an interface that was not added")
        let ticks = UInt64(max(timestamp.nanoseconds, 0))
        var body = LittleEndianBytes()
        body.append32(UInt32(interface))
        body.append32(UInt32(ticks >> 32))
        body.append32(UInt32(ticks & 0xFFFF_FFFF))
        body.append32(UInt32(clamping: bytes.count))
        body.append32(UInt32(clamping: max(originalLength ?? bytes.count, 0)))
        try writeBlock(type: 6, body: body.bytes, data: bytes)
    }

    /// Appends an Enhanced Packet Block from an array.
    public func append(interface: Int, timestamp: Timestamp, bytes: [UInt8], originalLength: Int? = nil)
        throws(CaptureError)
    {
        var failure: CaptureError?
        bytes.withUnsafeBytes { raw in
            do throws(CaptureError) {
                try append(interface: interface, timestamp: timestamp, bytes: raw, originalLength: originalLength)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Flushes and closes the file.
    public func close() throws(CaptureError) {
        guard let open = file else { return }
        file = nil
        guard open.flush() else { throw CaptureError(path: path, .writeFailed(open.lastErrorMessage)) }
    }

    /// Writes type, total length, `body`, `data` padded to 4 bytes, total length.
    private func writeBlock(type: UInt32, body: [UInt8], data: UnsafeRawBufferPointer?) throws(CaptureError) {
        let dataCount = data?.count ?? 0
        let padding = (4 - dataCount % 4) % 4
        let total = 12 + body.count + dataCount + padding
        var head = LittleEndianBytes()
        head.append32(type)
        head.append32(UInt32(clamping: total))
        head.bytes += body
        var tail = LittleEndianBytes()
        tail.bytes = Array(repeating: 0, count: padding)
        tail.append32(UInt32(clamping: total))
        guard let file else { throw CaptureError(path: path, .writeFailed("file is closed")) }
        var ok = head.bytes.withUnsafeBytes { file.write($0) }
        if let data { ok = ok && file.write(data) }
        ok = ok && tail.bytes.withUnsafeBytes { file.write($0) }
        if !ok { throw CaptureError(path: path, .writeFailed(file.lastErrorMessage)) }
    }
}
