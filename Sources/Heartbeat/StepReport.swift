import Core

/// One classified step of a check-in.
///
/// Stored in 64 bytes, as the report holds every check-in's steps until it is written: the name follows from
/// the step number, and a step of one exchange keeps its evidence as the words before the byte counts (shared
/// by a client's check-ins) and makes the counts' words, which are its own `bytesUp` and `bytesDown`, when
/// `evidence` is read. Equal steps compare and hash equal however their evidence is kept.
public struct StepReport: Sendable {
    public var start: Timestamp
    public var end: Timestamp
    /// 0-1: how sure the rule match is (method and order in HTTP; order, direction and size in TLS).
    public var confidence: Double
    // Read by the inlinable getters below, so the report writers in other modules read them in place (a call
    // across modules copied the step first, retaining its texts, for every property read).
    @usableFromInline var up: Int64
    @usableFromInline var down: Int64
    /// The evidence, or with `tail` other than `.none` the words before its byte counts.
    @usableFromInline var head: String
    @usableFromInline var number: Int32
    @usableFromInline var tail: Tail
    /// The records counted by a `.records` tail.
    @usableFromInline var recordsUp: UInt8
    @usableFromInline var recordsDown: UInt8

    /// The words that follow `head` in the evidence, made from the step's own numbers.
    @usableFromInline enum Tail: UInt8, Sendable {
        case none
        /// `, 133 bytes up, 3692 down` (an HTTP exchange).
        case bytes
        /// `515 bytes up in 1 record, 3696 down in 2 records` (a TLS exchange).
        case records
    }

    /// Steps are numbered 1-7; a number beyond 32 bits is kept as the nearest one that fits.
    public init(step: Int, start: Timestamp, end: Timestamp, bytesUp: Int64, bytesDown: Int64, confidence: Double,
                evidence: String) {
        self.start = start
        self.end = end
        self.confidence = confidence
        up = bytesUp
        down = bytesDown
        head = evidence
        number = Int32(clamping: step)
        tail = .none
        recordsUp = 0
        recordsDown = 0
    }

    /// 1-7 (a number set beyond 32 bits is kept as the nearest one that fits).
    public var step: Int {
        @inlinable get { Int(number) }
        set { number = Int32(clamping: newValue) }
    }

    /// The step id (`index-check`, ...), the model's for the step number (the first or last one's outside 1-7).
    @inlinable public var name: String { ReferenceModel.stepIDs[max(0, min(6, step - 1))] }

    public var bytesUp: Int64 {
        @inlinable get { up }
        set {
            keepEvidence()
            up = newValue
        }
    }

    public var bytesDown: Int64 {
        @inlinable get { down }
        set {
            keepEvidence()
            down = newValue
        }
    }

    /// The facts used, e.g. `GET /secars/secars.dll, 1st request, reply 4096 bytes`.
    public var evidence: String {
        @inlinable get {
            guard tail != .none else { return head }
            var text = ""
            Self.withEvidenceUTF8(head, tail, up, down, recordsUp, recordsDown) {
                text = String(decoding: $0, as: UTF8.self)
            }
            return text
        }
        set {
            head = newValue
            tail = .none
        }
    }

    /// With `evidenceIsMade`, the words before the byte counts; else the whole evidence.
    var evidenceHead: String {
        get { head }
        set { head = newValue }
    }

    /// Whether `evidence` is made when read (see `withEvidenceUTF8`).
    @inlinable public var evidenceIsMade: Bool { tail != .none }

    /// Calls `body` with the UTF-8 bytes of `evidence`, made on the stack when the step keeps only their head.
    public func withEvidenceUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        withUnsafePointer(to: self) { Self.withEvidenceUTF8(at: $0, body) }
    }

    /// `withEvidenceUTF8` for the step at `step`, read in place. The report writers call this one: the method
    /// called on `step.pointee` copied the whole step first, retaining its text, which a client's check-ins
    /// share across the writing threads. Inlinable and not generic, so writers in other modules read in place.
    @inlinable public static func withEvidenceUTF8(
        at step: UnsafePointer<StepReport>, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        let tail = step.pointee.tail
        guard tail != .none else {
            if step.pointee.head.utf8.withContiguousStorageIfAvailable(body) != nil { return }
            var text = step.pointee.head
            return text.withUTF8(body)
        }
        withEvidenceUTF8(step.pointee.head, tail, step.pointee.up, step.pointee.down, step.pointee.recordsUp,
                         step.pointee.recordsDown, body)
    }

    /// `withEvidenceUTF8` for a step whose evidence is made.
    @usableFromInline static func withEvidenceUTF8(
        _ head: String, _ tail: Tail, _ up: Int64, _ down: Int64, _ recordsUp: UInt8, _ recordsDown: UInt8,
        _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        // The longest tail: two 20-character numbers, the words, and two record counts of 3 digits.
        let most = head.utf8.count + 96
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: most) { room in
            var out = RoomWriter(room: room)
            if head.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
                var text = head
                text.withUTF8 { out.append(contentsOf: $0) }
            }
            appendCounts(tail, up: up, down: down, records: (Int(recordsUp), Int(recordsDown)), to: &out)
            body(UnsafeBufferPointer(rebasing: room[..<out.count]))
        }
    }

    /// Writes the words `tail` stands for: `, 133 bytes up, 3692 down` (`.bytes`), `515 bytes up in 1 record,
    /// 3696 down in 2 records` (`.records`), nothing for `.none`. The step classifier writes an exchange's
    /// counts with it too, so evidence made when read is the very text a step given it whole would hold.
    static func appendCounts<Out: ByteSink & ~Copyable>(
        _ tail: Tail, up: Int64, down: Int64, records: (up: Int, down: Int), to out: inout Out
    ) {
        switch tail {
        case .none:
            break
        case .bytes:
            append(", ", to: &out)
            DecimalText.append(up, to: &out)
            append(" bytes up, ", to: &out)
            DecimalText.append(down, to: &out)
            append(" down", to: &out)
        case .records:
            DecimalText.append(up, to: &out)
            append(" bytes up in ", to: &out)
            append(records.up, "record", to: &out)
            append(", ", to: &out)
            DecimalText.append(down, to: &out)
            append(" down in ", to: &out)
            append(records.down, "record", to: &out)
        }
    }

    private static func append<Out: ByteSink & ~Copyable>(_ s: StaticString, to out: inout Out) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// `n` and a noun, plural unless `n` is 1 (as `counted` writes it).
    private static func append<Out: ByteSink & ~Copyable>(_ n: Int, _ singular: StaticString, to out: inout Out) {
        DecimalText.append(Int64(n), to: &out)
        out.append(UInt8(ascii: " "))
        append(singular, to: &out)
        if n != 1 { out.append(UInt8(ascii: "s")) }
    }

    /// Keeps the evidence as `head` followed by words made from the step's byte counts (and `records`, for a
    /// `.records` tail: each at most 255); the evidence is `head` alone when a count of records does not fit.
    mutating func setEvidence(head: String, tail: Tail, records: (up: Int, down: Int) = (0, 0)) {
        guard tail != .records || (0...255).contains(records.up) && (0...255).contains(records.down) else {
            self.head = head
            self.tail = .none
            return
        }
        self.head = head
        self.tail = tail
        recordsUp = UInt8(truncatingIfNeeded: records.up)
        recordsDown = UInt8(truncatingIfNeeded: records.down)
    }

    /// Makes the evidence whole before a byte count changes, so the text stays the one the step was given.
    private mutating func keepEvidence() {
        if tail != .none { evidence = evidence }
    }
}

/// Writes into room known to be large enough (`StepReport.withEvidenceUTF8`).
private struct RoomWriter: ByteSink {
    let room: UnsafeMutableBufferPointer<UInt8>
    var count = 0

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        room[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        _ = UnsafeMutableBufferPointer(rebasing: room[count..<count + bytes.count]).initialize(fromContentsOf: bytes)
        count += bytes.count
    }

    mutating func append(most: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        let written = write(UnsafeMutableBufferPointer(rebasing: room[count..<count + most]))
        precondition(written >= 0 && written <= most, "append(most:): wrote \(written) of room for \(most)")
        count += written
    }
}

extension StepReport: Hashable {
    public static func == (a: StepReport, b: StepReport) -> Bool {
        guard a.number == b.number, a.start == b.start, a.end == b.end, a.up == b.up, a.down == b.down,
              a.confidence == b.confidence else { return false }
        if a.tail == b.tail, a.recordsUp == b.recordsUp, a.recordsDown == b.recordsDown { return a.head == b.head }
        return a.evidence == b.evidence
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(number)
        hasher.combine(start)
        hasher.combine(end)
        hasher.combine(up)
        hasher.combine(down)
        hasher.combine(confidence)
        hasher.combine(evidence)
    }
}

extension StepReport: Encodable {
    private enum Keys: String, CodingKey {
        case step, name, start, end, bytesUp, bytesDown, confidence, evidence
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(step, forKey: .step)
        try c.encode(name, forKey: .name)
        try c.encode(start.rfc3339(), forKey: .start)
        try c.encode(end.rfc3339(), forKey: .end)
        try c.encode(bytesUp, forKey: .bytesUp)
        try c.encode(bytesDown, forKey: .bytesDown)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(evidence, forKey: .evidence)
    }
}
