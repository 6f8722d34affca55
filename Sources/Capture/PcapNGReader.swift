import Core

/// A packet the own pcapng reader found, before statistics are counted.
struct ReadPacket {
    var record: PacketRecord
    var snapLength: Int
    var hasTimestamp: Bool
    /// The block's time did not fit a `Timestamp` and was clamped.
    var timestampOutOfRange = false
}

/// The pure-Swift pcapng block reader.
///
/// Reads one block at a time through a buffered `FILE *` into one reusable buffer
/// (as large as the largest block seen, at most `CaptureLimits.maximumBlockLength`).
/// Handles several sections of either byte order; several interfaces per section
/// with their own link types, snaplens and clocks (`if_tsresol` as a power of 10
/// or 2, `if_tsoffset`); Enhanced, Simple and obsolete Packet Blocks. Every other
/// block (NRB, ISB, DSB, custom, unknown) is checked for a sound length and skipped.
///
/// A Simple Packet Block has no time and no interface number: it belongs to the
/// section's first interface and gets `Timestamp.zero`, as in libpcap.
///
/// A block longer than `CaptureLimits.maximumBlockLength` is passed over unread when its length is
/// repeated at its end, and counted (a packet block in `skippedRecords`); otherwise, and for a Section
/// Header Block, reading stops there.
///
/// Problems after the first block end the file with a warning; the packets before
/// them are all returned. Problems in the first block are thrown from `open`.
final class PcapNGReader {
    /// The end of the warning for an input that ends inside a block over the size limit (which a whole file
    /// would have passed over): a followed input stopped there is no fault of the file (`CaptureFileSource`).
    static let endsInsideOversizedBlock = ", and the file ends before that (a corrupt length, or a file cut short); "
        + "reading stopped"

    private static let sectionHeader: UInt32 = 0x0A0D_0D0A
    private static let byteOrderMagic: UInt32 = 0x1A2B_3C4D

    private let file: CFile
    private let path: String
    private let fileIndex: Int
    private let limits: CaptureLimits
    private var buffer: UnsafeMutableRawBufferPointer
    private var offset = 0
    private var bigEndian = false
    private var interfaces: [PcapNGInterface] = []
    private var finished = false
    /// Packets to pass over without returning them (already returned by libpcap).
    private var packetsToSkip: Int
    /// Packets returned or passed over so far.
    private(set) var packetsSeen = 0
    /// How far a truncation message says reading got: `after 1 whole packet`, `after 2 whole packets`.
    private var afterWholePackets: String { "after \(packetsSeen) whole packet" + (packetsSeen == 1 ? "" : "s") }
    private(set) var byteOrder: CaptureByteOrder = .littleEndian
    private var unknownInterfaceFirstOffset: Int?
    /// Packet blocks skipped for naming an interface their section did not declare.
    private var unknownInterfaceBlocks = 0
    /// Whether the read position may be moved on without reading (a file opened by path): a block past
    /// the limit is then passed over with a seek; a stream's is read and dropped.
    private let canSeek: Bool
    /// Blocks past the size limit passed over: how many of each kind, and the first one's offset.
    private var oversizedPacketBlocks = 0
    private var oversizedInterfaceBlocks = 0
    private var oversizedOtherBlocks = 0
    private var firstOversizedOffset: Int?

    /// Opens `path` and reads its first Section Header Block.
    convenience init(path: String, fileIndex: Int, limits: CaptureLimits, skippingPackets: Int = 0,
                     bufferBytes: Int? = nil) throws(CaptureError)
    {
        let file: CFile
        switch CFile.open(path, mode: "rb", bufferBytes: bufferBytes) {
        case .success(let opened): file = opened
        case .failure(let failure):
            throw CaptureError(path: path, opening: failure)
        }
        try self.init(file: file, path: path, fileIndex: fileIndex, limits: limits,
                      skippingPackets: skippingPackets, canSeek: true)
    }

    /// Reads `file` from its current position (the start of a Section Header Block); `path` names it
    /// in messages.
    init(file: CFile, path: String, fileIndex: Int, limits: CaptureLimits, skippingPackets: Int = 0,
         canSeek: Bool = false) throws(CaptureError)
    {
        self.file = file
        self.canSeek = canSeek
        self.path = path
        self.fileIndex = fileIndex
        self.limits = limits
        self.packetsToSkip = skippingPackets
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        var scratch = CaptureStatistics(path: path, fileIndex: fileIndex, format: .pcapng, byteOrder: .littleEndian,
                                        reader: .own)
        switch readBlock(&scratch) {
        case .block(let type, _) where type == PcapNGReader.sectionHeader:
            byteOrder = bigEndian ? .bigEndian : .littleEndian
        case .block, .passedOver:
            throw CaptureError(path: path, .corruptHeader(offset: 0,
                                                          problem: "first block is not a Section Header Block"))
        case .end, .stopped:
            var problem = scratch.warnings.first?.problem ?? "no Section Header Block"
            if problem.hasSuffix("; reading stopped") { problem.removeLast("; reading stopped".count) }
            throw CaptureError(path: path, .unreadable(problem))
        }
    }

    deinit {
        buffer.deallocate()
    }

    /// Whether an interface declared before the first packet of `path` (within its first 64 blocks) has
    /// a clock whose times libpcap can give wrapped around into ordinary ones, with nothing to tell them by
    /// (`PcapNGInterface.libpcapMayWrapIntoRange`); such a file is read with this reader from the start.
    static func leadingClockMayWrap(path: String, compression: CaptureCompression? = nil) -> Bool {
        let header = CaptureReader.FileHeader(format: .pcapng, byteOrder: .littleEndian, linkType: nil, snapLength: 0,
                                              compression: compression)
        guard case .own(let reader)? = try? CaptureFileSource.openOwnReader(
            path: path, header: header, fileIndex: 0, limits: .default, bufferBytes: nil).backend
        else { return false }
        var scratch = CaptureStatistics(path: path, fileIndex: 0, format: .pcapng, byteOrder: .littleEndian,
                                        reader: .own)
        for _ in 0..<64 {
            switch reader.readBlock(&scratch) {
            case .block(let type, _) where [2, 3, 6].contains(type):
                return reader.interfaces.contains { $0.libpcapMayWrapIntoRange }
            case .block(let type, let length):
                _ = reader.packet(type: type, length: length, at: 0, &scratch)
            case .passedOver:
                continue
            case .end, .stopped:
                return reader.interfaces.contains { $0.libpcapMayWrapIntoRange }
            }
        }
        return reader.interfaces.contains { $0.libpcapMayWrapIntoRange }
    }

    /// The next packet, or nil at the end of the file or after a problem (then in `statistics.warnings`).
    func next(_ statistics: inout CaptureStatistics) throws(CaptureError) -> ReadPacket? {
        while !finished {
            let blockOffset = offset
            switch readBlock(&statistics) {
            case .end, .stopped:
                finished = true
                finishWarnings(&statistics)
                return nil
            case .passedOver:
                continue
            case .block(let type, let length):
                if let packet = packet(type: type, length: length, at: blockOffset, &statistics) {
                    packetsSeen += 1
                    if packetsToSkip > 0 {
                        packetsToSkip -= 1
                        continue
                    }
                    return packet
                }
            }
        }
        return nil
    }

    // MARK: - Blocks

    private enum BlockResult {
        case block(type: UInt32, length: Int)
        /// A block past the size limit, passed over unread (see `passOver`).
        case passedOver
        case end
        case stopped
    }

    /// Reads the next whole block into `buffer` and checks its lengths.
    private func readBlock(_ statistics: inout CaptureStatistics) -> BlockResult {
        let start = offset
        let headerRead = read(count: 8, at: 0)
        if headerRead == 0 { return .end }
        guard headerRead == 8 else {
            statistics.stop(.truncated, at: start, "file truncated mid-block at byte offset \(start) "
                + "(\(headerRead) of 8 block header bytes) " + afterWholePackets)
            return .stopped
        }
        let raw = ByteOrderReader(bytes: UnsafeRawBufferPointer(buffer), bigEndian: false)
        let rawType = raw.u32(at: 0) ?? 0
        var prefix = 8
        if rawType == PcapNGReader.sectionHeader {
            // The byte-order magic decides how to read this block's length and the section after it.
            guard read(count: 4, at: 8) == 4, let magic = raw.u32(at: 8) else {
                statistics.stop(.truncated, at: start, "file truncated mid-block at byte offset \(start) "
                    + "(Section Header Block without byte-order magic) " + afterWholePackets)
                return .stopped
            }
            switch magic {
            case PcapNGReader.byteOrderMagic: bigEndian = false
            case PcapNGReader.byteOrderMagic.byteSwapped: bigEndian = true
            default:
                statistics.stop(.corrupt, at: start, "corrupt Section Header Block at byte offset \(start): "
                    + "byte-order magic 0x\(hex32(magic.byteSwapped)) (bytes in file order); reading stopped")
                return .stopped
            }
            prefix = 12
        }
        let reader = ByteOrderReader(bytes: UnsafeRawBufferPointer(buffer), bigEndian: bigEndian)
        let type = reader.u32(at: 0) ?? 0
        let length = Int(reader.u32(at: 4) ?? 0)
        let minimum = type == PcapNGReader.sectionHeader ? 28 : 12
        guard length >= minimum, length % 4 == 0 else {
            statistics.stop(.corrupt, at: start, "corrupt block at byte offset \(start): type 0x\(hex32(type)) "
                + "with total length \(length) (must be a multiple of 4, at least \(minimum)); reading stopped")
            return .stopped
        }
        guard length <= limits.maximumBlockLength else {
            return passOver(type: type, length: length, at: start, prefix: prefix, &statistics)
        }
        if length > buffer.count { grow(to: length) }
        let bodyRead = read(count: length - prefix, at: prefix)
        guard bodyRead == length - prefix else {
            if file.hadError {
                statistics.stop(.corrupt, at: start, "read error in block at byte offset \(start); reading stopped")
                return .stopped
            }
            statistics.stop(.truncated, at: start, "file truncated mid-block at byte offset \(start) "
                + "(block of \(length) bytes, \(prefix + bodyRead) present) " + afterWholePackets)
            return .stopped
        }
        let checked = ByteOrderReader(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<length]), bigEndian: bigEndian)
        guard checked.u32(at: length - 4) == UInt32(length) else {
            let trailer = checked.u32(at: length - 4) ?? 0
            statistics.stop(.corrupt, at: start, "corrupt block at byte offset \(start): total length \(length) "
                + "but trailing copy \(trailer); reading stopped")
            return .stopped
        }
        if type == PcapNGReader.sectionHeader {
            guard startSection(checked, at: start, &statistics) else { return .stopped }
        }
        return .block(type: type, length: length)
    }

    /// Passes over a block longer than `limits.maximumBlockLength` whose first `prefix` bytes are read: its
    /// body unread (a seek, or reads into the buffer for a stream), then its trailing copy of the length is
    /// checked. When the copy agrees the block is counted and reading goes on after it (a packet block's
    /// packet is lost, an Interface Description Block's interface keeps its number with an unknown link
    /// type); otherwise the length itself is taken as corrupt and reading stops, as it does for a Section
    /// Header Block (the section after it could not be read right without it).
    private func passOver(type: UInt32, length: Int, at start: Int, prefix: Int,
                          _ statistics: inout CaptureStatistics) -> BlockResult {
        // (`endsInsideOversizedBlock` ends the warning when the input ends inside such a block.)
        let claim = "block at byte offset \(start) (type 0x\(hex32(type))) claims \(length) bytes, more than the limit "
            + "of \(limits.maximumBlockLength)"
        guard type != PcapNGReader.sectionHeader else {
            statistics.stop(.limitReached, at: start, "Section Header Block at byte offset \(start) claims \(length) "
                + "bytes, more than the limit of \(limits.maximumBlockLength); reading stopped")
            return .stopped
        }
        var body = length - prefix - 4
        if canSeek, file.seek(by: body) {
            offset += body
            body = 0
        } else {
            while body > 0 {
                let chunk = min(body, buffer.count)
                let got = read(count: chunk, at: 0)
                body -= got
                if got < chunk { break }
            }
        }
        let trailerRead = body == 0 ? read(count: 4, at: 0) : 0
        guard trailerRead == 4 else {
            if file.hadError {
                statistics.stop(.corrupt, at: start, "read error in block at byte offset \(start); reading stopped")
            } else {
                statistics.stop(.limitReached, at: start, "\(claim)" + Self.endsInsideOversizedBlock)
            }
            return .stopped
        }
        let trailer = ByteOrderReader(bytes: UnsafeRawBufferPointer(buffer), bigEndian: bigEndian).u32(at: 0) ?? 0
        guard trailer == UInt32(length) else {
            statistics.stop(.limitReached, at: start, "\(claim), but its trailing copy of the length says \(trailer) "
                + "(a corrupt length); reading stopped")
            return .stopped
        }
        switch type {
        case 2, 3, 6:
            packetsSeen += 1
            if packetsToSkip > 0 {
                // libpcap, whose limit can be higher for some link types, returned this packet already.
                packetsToSkip -= 1
                return .passedOver
            }
            oversizedPacketBlocks += 1
            statistics.skippedRecords += 1
        case 1:
            oversizedInterfaceBlocks += 1
            statistics.skippedRecords += 1
            // Keep numbering aligned with the writer's: later packets name interfaces by position.
            interfaces.append(PcapNGInterface(linkType: LinkType(rawValue: 0xFFFF), snapLength: 0))
        default:
            oversizedOtherBlocks += 1
        }
        if firstOversizedOffset == nil { firstOversizedOffset = start }
        return .passedOver
    }

    private func startSection(_ block: ByteOrderReader, at start: Int, _ statistics: inout CaptureStatistics) -> Bool {
        let major = block.u16(at: 12) ?? 0
        guard major == 1 else {
            statistics.stop(.corrupt, at: start, "section at byte offset \(start) has unsupported pcapng version "
                + "\(major).\(block.u16(at: 14) ?? 0); reading stopped")
            return false
        }
        let order: CaptureByteOrder = bigEndian ? .bigEndian : .littleEndian
        if start > 0, order != byteOrder { byteOrder = .mixed }
        interfaces.removeAll(keepingCapacity: true)
        return true
    }

    // MARK: - Packets

    private func packet(type: UInt32, length: Int, at blockOffset: Int,
                        _ statistics: inout CaptureStatistics) -> ReadPacket? {
        let block = ByteOrderReader(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<length]), bigEndian: bigEndian)
        switch type {
        case 1:
            if let interface = PcapNGInterface(block: block) {
                interfaces.append(interface)
            } else {
                skip(at: blockOffset, "Interface Description Block too short", &statistics)
                // Keep numbering aligned with the writer's: later packets name interfaces by position.
                interfaces.append(PcapNGInterface(linkType: LinkType(rawValue: 0xFFFF), snapLength: 0))
            }
            return nil
        case 6, 2:
            // EPB: interface (4), time high (4), time low (4), captured (4), original (4).
            // PB: interface (2), drops (2), then the same fields.
            let interfaceID = type == 6 ? Int(block.u32(at: 8) ?? 0) : Int(block.u16(at: 8) ?? 0)
            guard let high = block.u32(at: 12), let low = block.u32(at: 16),
                  let captured = block.u32(at: 20), let original = block.u32(at: 24) else {
                skip(at: blockOffset, "packet block too short for its header", &statistics)
                return nil
            }
            guard Int(captured) <= length - 32 else {
                skip(at: blockOffset, "packet block claims \(captured) captured bytes but holds \(length - 32)",
                     &statistics)
                return nil
            }
            guard interfaceID < interfaces.count else {
                noteUnknownInterface(at: blockOffset, &statistics)
                return nil
            }
            let interface = interfaces[interfaceID]
            let time = interface.checkedTimestamp(ticks: UInt64(high) << 32 | UInt64(low))
            var packet = makePacket(interface: interfaceID, time: time.time, start: 28, captured: Int(captured),
                                    original: Int(original), hasTimestamp: true)
            packet.timestampOutOfRange = !time.inRange
            return packet
        case 3:
            guard length >= 16, let original = block.u32(at: 8) else {
                skip(at: blockOffset, "Simple Packet Block too short", &statistics)
                return nil
            }
            guard let interface = interfaces.first else {
                noteUnknownInterface(at: blockOffset, &statistics)
                return nil
            }
            var captured = min(Int(original), length - 16)
            if interface.snapLength > 0 { captured = min(captured, interface.snapLength) }
            return makePacket(interface: 0, time: .zero, start: 12, captured: captured, original: Int(original),
                              hasTimestamp: false)
        default:
            return nil
        }
    }

    private func makePacket(interface: Int, time: Timestamp, start: Int, captured: Int, original: Int,
                            hasTimestamp: Bool) -> ReadPacket {
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + captured)])
        let record = PacketRecord(timestamp: time, linkType: interfaces[interface].linkType, capturedLength: captured,
                                  originalLength: original, fileIndex: fileIndex, interfaceIndex: interface,
                                  bytes: bytes)
        return ReadPacket(record: record, snapLength: interfaces[interface].snapLength, hasTimestamp: hasTimestamp)
    }

    private func skip(at blockOffset: Int, _ problem: String, _ statistics: inout CaptureStatistics) {
        statistics.skippedRecords += 1
        statistics.warn(.skippedRecords, at: blockOffset, "skipped malformed block at byte offset \(blockOffset): "
            + problem)
    }

    private func noteUnknownInterface(at blockOffset: Int, _ statistics: inout CaptureStatistics) {
        statistics.skippedRecords += 1
        unknownInterfaceBlocks += 1
        if unknownInterfaceFirstOffset == nil { unknownInterfaceFirstOffset = blockOffset }
    }

    private func finishWarnings(_ statistics: inout CaptureStatistics) {
        if let first = firstOversizedOffset {
            let n = oversizedPacketBlocks + oversizedInterfaceBlocks + oversizedOtherBlocks
            var kinds: [String] = []
            if oversizedPacketBlocks > 0 {
                kinds.append(oversizedPacketBlocks == 1 ? "1 packet block (its packet is not analysed)"
                    : "\(oversizedPacketBlocks) packet blocks (their packets are not analysed)")
            }
            if oversizedInterfaceBlocks > 0 {
                kinds.append("\(oversizedInterfaceBlocks) Interface Description "
                    + (oversizedInterfaceBlocks == 1 ? "Block (its packets are read with an unknown link type)"
                        : "Blocks (their packets are read with an unknown link type)"))
            }
            if oversizedOtherBlocks > 0 {
                kinds.append("\(oversizedOtherBlocks) other block\(oversizedOtherBlocks == 1 ? "" : "s") "
                    + "(no packet in \(oversizedOtherBlocks == 1 ? "it" : "them"))")
            }
            statistics.warn(.skippedRecords, at: first, "skipped \(n == 1 ? "1 block" : "\(n) blocks") longer than "
                + "the limit of \(limits.maximumBlockLength) bytes unread (first at byte offset \(first)): "
                + kinds.joined(separator: ", "))
        }
        guard let first = unknownInterfaceFirstOffset else { return }
        let n = unknownInterfaceBlocks
        statistics.warn(.skippedRecords, at: first, "skipped \(n == 1 ? "1 packet block" : "\(n) packet blocks") "
            + "naming an interface their section does not declare (first at byte offset \(first)): their packets are "
            + "not analysed")
    }

    // MARK: - Buffer

    /// Reads `count` bytes into the buffer at `position`; returns how many arrived.
    private func read(count: Int, at position: Int) -> Int {
        guard count > 0, let base = buffer.baseAddress, position <= buffer.count - count else { return 0 }
        let got = file.read(into: base + position, count: count)
        offset += got
        return got
    }

    private func grow(to length: Int) {
        let size = max(length, min(buffer.count * 2, limits.maximumBlockLength))
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
        buffer.deallocate()
        buffer = bigger
    }
}
