import Core
import Protocols
import Records
import Testing

/// One input step for a single direction: bytes, or a gap of that many missing bytes (`cut`: bytes the snap
/// length cut off the packet whose bytes came just before).
enum HTTP1Step {
    case data(String)
    case gap(Int64)
    case cut(Int64)
}

/// One input step for a conversation. Steps happen one second apart, starting at second 1.
enum HTTP1ConversationStep {
    case up(String)
    case down(String)
    case gapUp(Int64)
    case gapDown(Int64)
    case cutUp(Int64)
    case cutDown(Int64)
}

func time(_ second: Int) -> Timestamp { Timestamp(seconds: Int64(second), nanoseconds: 0) }

/// Events in words, with consecutive body/tunnel/skipped counts merged so that results do not
/// depend on how the input was split.
func summarize(_ events: [HTTP1Event]) -> [String] {
    var out: [String] = []
    var runKind = ""
    var runCount: Int64 = 0
    func flush() {
        if !runKind.isEmpty { out.append("\(runKind) \(runCount)") }
        runKind = ""
        runCount = 0
    }
    func add(_ kind: String, _ n: Int64) {
        if kind != runKind { flush() }
        runKind = kind
        runCount += n
    }
    for event in events {
        switch event {
        case .body(let n, let missing, _): add(missing ? "body-missing" : "body", n)
        case .tunnel(let n, let missing, _): add(missing ? "tunnel-missing" : "tunnel", n)
        case .skipped(let n, let missing, _): add(missing ? "skipped-missing" : "skipped", n)
        case .requestHead(let h):
            flush()
            out.append("request \(h.method) \(h.target) \(h.version) head=\(h.headLength) headers=\(h.headers.count)"
                + (h.cutShort ? " cut" : ""))
        case .responseHead(let h):
            flush()
            // A code the snap length cut is shown `?`.
            out.append("response \(h.version) \(h.statusCut ? "?" : String(h.status)) \(h.reason) head=\(h.headLength)"
                + (h.cutShort ? " cut" : ""))
        case .simpleResponse:
            flush()
            out.append("simple response")
        case .messageEnd(let e):
            flush()
            out.append("end body=\(e.bodyLength) wire=\(e.bodyWireLength) missing=\(e.missingBytes)"
                + (e.complete ? "" : " incomplete") + (e.headCutShort ? " head-cut" : ""))
        case .anomaly(let a, _):
            flush()
            out.append("anomaly \(a.code)")
        case .tunnelStart:
            flush()
            out.append("tunnel start")
        }
    }
    flush()
    return out
}

/// The ways a step's bytes are cut into feed calls: whole, in two at every offset, byte by byte.
enum HTTP1Cut: CustomStringConvertible {
    case whole
    case at(Int)
    case bytewise

    var description: String {
        switch self {
        case .whole: "whole"
        case .at(let k): "cut at \(k)"
        case .bytewise: "byte by byte"
        }
    }

    func pieces(_ b: [UInt8]) -> [[UInt8]] {
        switch self {
        case .whole: return [b]
        case .at(let k):
            let k = min(k, b.count)
            return [Array(b[..<k]), Array(b[k...])]
        case .bytewise: return b.map { [$0] }
        }
    }

    static func all(longest: Int) -> [HTTP1Cut] {
        [.whole, .bytewise] + (1..<max(1, longest)).map { .at($0) }
    }
}

func runParser(
    _ role: HTTP1Parser.Role, _ steps: [HTTP1Step], expecting methods: [String] = [],
    limits: HTTP1Limits = HTTP1Limits(), cut: HTTP1Cut
) -> [HTTP1Event] {
    var parser = HTTP1Parser(role: role, limits: limits)
    for m in methods { parser.expectResponse(toMethod: m, http09: m == "GET/0.9") }
    var events: [HTTP1Event] = []
    for (n, step) in steps.enumerated() {
        switch step {
        case .data(let text):
            for piece in cut.pieces(Array(text.utf8)) {
                piece.withUnsafeBytes { parser.feed($0, time: time(n + 1), into: &events) }
            }
        case .gap(let g):
            parser.skip(gapBytes: g, time: time(n + 1), into: &events)
        case .cut(let g):
            parser.skip(gapBytes: g, time: time(n + 1), cutBySnapLength: true, into: &events)
        }
    }
    parser.finish(time: time(steps.count + 1), into: &events)
    return events
}

/// Parses the steps whole, in two pieces at every offset and byte by byte; expects the same
/// summary every way and returns it.
func parseEveryWay(
    _ role: HTTP1Parser.Role, _ steps: [HTTP1Step], expecting methods: [String] = [],
    limits: HTTP1Limits = HTTP1Limits(), sourceLocation: SourceLocation = #_sourceLocation
) -> [String] {
    let whole = summarize(runParser(role, steps, expecting: methods, limits: limits, cut: .whole))
    let longest = steps.map { if case .data(let t) = $0 { t.utf8.count } else { 0 } }.max() ?? 0
    for cut in HTTP1Cut.all(longest: longest) {
        let other = summarize(runParser(role, steps, expecting: methods, limits: limits, cut: cut))
        if other != whole {
            #expect(other == whole, "\(cut)", sourceLocation: sourceLocation)
            break
        }
    }
    return whole
}

struct HTTP1ConversationResult: Equatable {
    var exchanges: [Exchange]
    var records: [HTTP1MessageRecord]
    var anomalies: [String]
    var tunnelUp: Int64
    var tunnelDown: Int64
}

func runConversation(_ steps: [HTTP1ConversationStep], cut: HTTP1Cut) -> HTTP1ConversationResult {
    var c = HTTP1Conversation()
    var exchanges: [Exchange] = []
    for (n, step) in steps.enumerated() {
        switch step {
        case .up(let text), .down(let text):
            let direction: Direction = if case .up = step { .up } else { .down }
            for piece in cut.pieces(Array(text.utf8)) {
                piece.withUnsafeBytes { c.feed($0, direction: direction, time: time(n + 1), into: &exchanges) }
            }
        case .gapUp(let g): c.skip(gapBytes: g, direction: .up, time: time(n + 1), into: &exchanges)
        case .gapDown(let g): c.skip(gapBytes: g, direction: .down, time: time(n + 1), into: &exchanges)
        case .cutUp(let g):
            c.skip(gapBytes: g, direction: .up, time: time(n + 1), cutBySnapLength: true, into: &exchanges)
        case .cutDown(let g):
            c.skip(gapBytes: g, direction: .down, time: time(n + 1), cutBySnapLength: true, into: &exchanges)
        }
    }
    c.finish(time: time(steps.count + 1), into: &exchanges)
    return HTTP1ConversationResult(
        exchanges: exchanges, records: c.takeMessageRecords(), anomalies: c.takeAnomalies().map(\.anomaly.code),
        tunnelUp: c.tunnelBytesUp, tunnelDown: c.tunnelBytesDown)
}

/// Runs a conversation whole, cut in two at every offset of every step, and byte by byte;
/// expects identical exchanges and records every way and returns them.
func converseEveryWay(
    _ steps: [HTTP1ConversationStep], sourceLocation: SourceLocation = #_sourceLocation
) -> HTTP1ConversationResult {
    let whole = runConversation(steps, cut: .whole)
    let longest = steps.map { step -> Int in
        switch step {
        case .up(let t), .down(let t): t.utf8.count
        default: 0
        }
    }.max() ?? 0
    for cut in HTTP1Cut.all(longest: longest) {
        let other = runConversation(steps, cut: cut)
        if other != whole {
            #expect(other == whole, "\(cut)", sourceLocation: sourceLocation)
            break
        }
    }
    return whole
}
