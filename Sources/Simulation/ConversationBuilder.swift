/// Timing of the simulated network, in nanoseconds.
enum WireTiming {
    /// SYN to SYN-ACK, and any packet to the peer's immediate answer.
    static let roundTrip: Int64 = 400_000
    /// Between two back-to-back segments of one sender.
    static let segmentGap: Int64 = 20_000
    /// From the last segment of a pair to the receiver's ACK.
    static let ackDelay: Int64 = 150_000
    /// From a request's end to the start of its response.
    static let serverThink: Int64 = 2_000_000
    /// From a response's end to the client's next request (or close).
    static let clientThink: Int64 = 1_000_000
}

/// Sequence state of one simulated TCP connection (kept across phases on push connections).
struct ConnectionCursor: Sendable {
    var ends: ConnectionEnds
    var clientNext: UInt32
    var serverNext: UInt32
    var clientIPID: UInt16
    var serverIPID: UInt16
}

/// The packets of one phase of a client (a pull check-in, a push burst, a keep-alive), in time
/// order, with the bytes each direction sends during it.
///
/// Pooled by `Simulator` and reused with capacity kept, so steady state allocates nothing.
final class Phase {
    var packets: [PlannedPacket] = []
    var up: [UInt8] = []
    var down: [UInt8] = []
    var ends: [ConnectionEnds] = []
    var cursor = 0

    func reset() {
        packets.removeAll(keepingCapacity: true)
        up.removeAll(keepingCapacity: true)
        down.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        cursor = 0
    }
}

/// Turns connection-level actions (open, send a message, close) into planned TCP packets.
///
/// Data goes out in MSS-sized segments, two at a time, each pair acknowledged by the receiver, so
/// at most two segments are ever in flight. Sequence and acknowledgement numbers follow the bytes
/// exactly; SYN and FIN each take one number.
struct ConversationBuilder {
    let phase: Phase
    var time: Int64
    var connection: ConnectionCursor
    private var index: UInt8

    /// Starts planning on `connection` at `time`; the connection becomes the phase's next one.
    init(phase: Phase, time: Int64, connection: ConnectionCursor) {
        self.phase = phase
        self.time = time
        self.connection = connection
        phase.ends.append(connection.ends)
        index = UInt8(truncatingIfNeeded: phase.ends.count - 1)
    }

    /// Continues on another connection in the same phase (a failover check-in's second connect).
    mutating func switchTo(_ next: ConnectionCursor) {
        phase.ends.append(next.ends)
        index = UInt8(truncatingIfNeeded: phase.ends.count - 1)
        connection = next
    }

    private mutating func emit(
        fromClient: Bool, flags: UInt8, offset: Int = 0, length: Int = 0, sequence: UInt32? = nil
    ) {
        let ipID: UInt16
        if fromClient {
            ipID = connection.clientIPID
            connection.clientIPID &+= 1
        } else {
            ipID = connection.serverIPID
            connection.serverIPID &+= 1
        }
        let ackFlag = flags & TCPFlagBits.ack != 0
        phase.packets.append(PlannedPacket(
            time: time,
            sequence: sequence ?? (fromClient ? connection.clientNext : connection.serverNext),
            acknowledgement: ackFlag ? (fromClient ? connection.serverNext : connection.clientNext) : 0,
            payloadOffset: Int32(offset), payloadLength: UInt16(length), ipID: ipID, flags: flags,
            fromClient: fromClient, connection: index))
    }

    /// SYN, SYN-ACK, ACK.
    mutating func open() {
        emit(fromClient: true, flags: TCPFlagBits.syn)
        connection.clientNext &+= 1
        time += WireTiming.roundTrip
        emit(fromClient: false, flags: TCPFlagBits.syn | TCPFlagBits.ack)
        connection.serverNext &+= 1
        time += WireTiming.segmentGap
        emit(fromClient: true, flags: TCPFlagBits.ack)
        time += WireTiming.segmentGap
    }

    /// SYN answered by RST-ACK (the port is closed).
    mutating func refuse() {
        emit(fromClient: true, flags: TCPFlagBits.syn)
        connection.clientNext &+= 1
        time += WireTiming.roundTrip
        emit(fromClient: false, flags: TCPFlagBits.rst | TCPFlagBits.ack, sequence: 0)
        time += WireTiming.segmentGap
    }

    /// A SYN never answered: sent again `retries` nanoseconds after the first (same sequence number), and left.
    mutating func unansweredConnect(retries: [Int64]) {
        let start = time
        let sequence = connection.clientNext
        emit(fromClient: true, flags: TCPFlagBits.syn)
        connection.clientNext &+= 1
        for retry in retries {
            time = start + retry
            emit(fromClient: true, flags: TCPFlagBits.syn, sequence: sequence)
        }
        time += WireTiming.segmentGap
    }

    /// Sends the `length` bytes most recently appended to the sender's stream buffer.
    mutating func send(fromClient: Bool, length: Int) {
        let stream = fromClient ? phase.up : phase.down
        var offset = stream.count - length
        var left = length
        var inPair = 0
        while left > 0 {
            let n = min(left, TCPFrame.mss)
            left -= n
            let last = left == 0
            let flags = TCPFlagBits.ack | (last ? TCPFlagBits.psh : 0)
            emit(fromClient: fromClient, flags: flags, offset: offset, length: n)
            offset += n
            if fromClient { connection.clientNext &+= UInt32(n) } else { connection.serverNext &+= UInt32(n) }
            inPair += 1
            if inPair == 2 || last {
                time += WireTiming.ackDelay
                emit(fromClient: !fromClient, flags: TCPFlagBits.ack)
                inPair = 0
            }
            time += WireTiming.segmentGap
        }
    }

    /// Waits `nanoseconds` of capture time.
    mutating func wait(_ nanoseconds: Int64) { time += nanoseconds }

    /// FIN, the peer's FIN, ACK: the client ends the connection, or the manager (`byServer`) does.
    mutating func close(byServer: Bool = false) {
        func fin(fromClient: Bool) {
            emit(fromClient: fromClient, flags: TCPFlagBits.fin | TCPFlagBits.ack)
            if fromClient { connection.clientNext &+= 1 } else { connection.serverNext &+= 1 }
        }
        fin(fromClient: !byServer)
        time += WireTiming.roundTrip
        fin(fromClient: byServer)
        time += WireTiming.segmentGap
        emit(fromClient: !byServer, flags: TCPFlagBits.ack)
        time += WireTiming.segmentGap
    }


    /// A TCP keep-alive (one below the next sequence, no data) and its ACK.
    mutating func keepAlive() {
        emit(fromClient: true, flags: TCPFlagBits.ack, sequence: connection.clientNext &- 1)
        time += WireTiming.roundTrip
        emit(fromClient: false, flags: TCPFlagBits.ack)
        time += WireTiming.segmentGap
    }
}
