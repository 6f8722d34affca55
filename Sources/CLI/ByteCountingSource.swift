import Capture

/// Forwards a packet source and estimates the bytes read from the files so far, for the
/// progress meter: each record's captured length plus 16 bytes of record header (the classic
/// pcap size; pcapng blocks carry a little more), plus 24 bytes of file header per file.
/// The estimate is clamped to the files' total size by the meter.
final class ByteCountingSource: PacketSource {
    private let inner: PacketSource
    private let onProgress: (Int, Int64) -> Void
    private(set) var packets = 0
    private(set) var bytes: Int64

    init(_ inner: PacketSource, files: Int, onProgress: @escaping (Int, Int64) -> Void) {
        self.inner = inner
        self.onProgress = onProgress
        bytes = Int64(files) * 24
    }

    func next() throws(CaptureError) -> PacketRecord? {
        guard let record = try inner.next() else { return nil }
        packets &+= 1
        bytes &+= Int64(record.capturedLength) + 16
        if packets & 0x3ff == 0 { onProgress(packets, bytes) }
        return record
    }

    var statistics: [CaptureStatistics] { inner.statistics }

    func setFilter(_ expression: String) throws(CaptureError) { try inner.setFilter(expression) }

    func setWaitHandler(_ handler: (() -> Void)?) { inner.setWaitHandler(handler) }
}
