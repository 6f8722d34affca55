import Heartbeat

/// The byte ranges a fleet's check-ins are drawn from, fitted to the model's `sizes` so that `analyze` under
/// the same model raises no size finding the ground truth does not name.
///
/// Under the built-in model the ranges are the reference ones (idle 3,400-4,600 bytes, download 20-60 KB,
/// log upload 20-90 KB, sensor upload 4-30 KB). Another model moves them:
///
/// - idle: 3,400-4,600 when that lies inside the model's idle range with 2 bytes to spare (a plain-HTTP
///   check-in may land a byte off its draw), else that range less 2 bytes at each end, starting no lower than
///   the messages' fixed parts need (`minimumIdle`) and ending no higher than `largestDraw`;
/// - log upload: half the cap to the cap less 4 KB (less half the cap for a cap under 8 KB), at most 20-90 KB;
/// - every upload at least `tls.uploadMinBytes` (so that TLS shows it as an upload), the download at least 700
///   bytes (above its TLS request);
/// - download, log and sensor upload shrunk together towards those floors when a full check-in at their tops
///   would pass `fullMaxBytes`.
///
/// `make` refuses a model whose ranges leave no room for these (`SimulationError`, one line).
struct SimulatedSizes: Sendable {
    var idle: ClosedRange<Int>
    var download: ClosedRange<Int>
    var logUpload: ClosedRange<Int>
    var sensorUpload: ClosedRange<Int>
    /// The oversize-upload fault's log upload: the cap plus 20 KB.
    var oversizeUpload: Int

    /// A TLS check-in's request (450-700 bytes) under an answer at least as large, so the exchange reads as
    /// a fetch whatever `tls.uploadMinBytes` is: the fewest bytes an idle check-in can carry over TLS.
    static let tlsIdleMinimum = 1_400
    /// Bytes the full check-in adds beyond its draws over TLS: the download's request (at most 700 bytes) and
    /// two upload answers (at most 300 each).
    static let tlsFullExtra = 1_300
    /// How far inside the model's idle range the draws stay: a plain-HTTP body is sized from an estimate of
    /// its head, which the Content-Length's digit count can put a byte off.
    static let idleMargin = 2
    /// The most one drawn message may carry (16 MiB): a check-in is built in memory before it is written, so a
    /// model's idle range or upload cap of gigabytes would exhaust it rather than make a capture.
    static let largestDraw = 16 << 20

    static func make(
        model: ReferenceModel, uploadCap: Int, heads: HTTPHeadLengths, oversizeFault: Bool
    ) throws(SimulationError) -> SimulatedSizes {
        let s = model.sizes
        let idleMin = Self.clamp(s.idleMinBytes), idleMax = Self.clamp(s.idleMaxBytes)
        let fullMax = Self.clamp(s.fullMaxBytes), uploadMin = Self.clamp(model.tls.uploadMinBytes)
        // The index check's request and answer head, and a 16-byte body.
        let minimumIdle = max(tlsIdleMinimum, heads.get + heads.response + 16)
        let reference = 3_400...4_600
        let idle: ClosedRange<Int>
        if idleMin + idleMargin <= reference.lowerBound, reference.upperBound <= idleMax - idleMargin {
            idle = reference
        } else {
            let low = max(idleMin + idleMargin, minimumIdle), high = min(idleMax - idleMargin, largestDraw)
            guard low <= largestDraw else {
                throw SimulationError("the model's sizes.idleMinBytes (\(idleMin)) asks for idle check-ins larger "
                    + "than the simulator writes (\(largestDraw) bytes)")
            }
            guard low <= high else {
                throw SimulationError("the model's idle range (sizes.idleMinBytes-idleMaxBytes, \(idleMin)-\(idleMax)) "
                    + "cannot be simulated: idle check-ins need sizes.idleMaxBytes of at least "
                    + "\(minimumIdle + idleMargin) and a range at least \(2 * idleMargin) bytes wide")
            }
            idle = low...high
        }
        // A download of at least 700 bytes stays a fetch under its 450-700-byte TLS request; an upload of at
        // least `uploadMin` bytes, and above its answer (at most 300), reads as one.
        let leastUpload = max(uploadMin, 301)
        guard leastUpload <= largestDraw else {
            throw SimulationError("the model's tls.uploadMinBytes (\(uploadMin)) asks for uploads larger than the "
                + "simulator writes (\(largestDraw) bytes)")
        }
        guard heads.post <= 4_096 else {
            throw SimulationError("the model's http.secarsPath and http.userAgent make an upload request head of "
                + "\(heads.post) bytes, more than the 4096 the simulator leaves for it under the upload cap")
        }
        // Room under the cap for the upload request's head (a TLS upload counts its record headers only).
        let slack = min(4_096, uploadCap / 2)
        guard slack >= heads.post, uploadCap - slack >= leastUpload else {
            let needed = leastUpload <= 4_096 ? 2 * max(heads.post, leastUpload) : leastUpload + 4_096
            throw SimulationError("the model's log upload cap (sizes.logUploadMaxRecords x logRecordBytes + "
                + "uploadOverheadBytes = \(uploadCap)) is too small to simulate: a log upload needs a cap of at least "
                + "\(needed) bytes")
        }
        func raised(_ r: ClosedRange<Int>, _ floor: Int) -> ClosedRange<Int> {
            max(floor, r.lowerBound)...max(floor, r.upperBound)
        }
        var download = raised(20_000...60_000, 700)
        var log = raised(min(20_000, uploadCap / 2)...min(90_000, uploadCap - slack), leastUpload)
        var sensor = raised(4_000...30_000, leastUpload)
        // What a full check-in carries besides its three draws: the idle part, and the extra messages.
        let extra = idle.upperBound + max(tlsFullExtra, 3 * (heads.post + heads.response) + 64)
        let tops = download.upperBound + log.upperBound + sensor.upperBound
        if extra + tops > fullMax {
            // Each range shrinks towards its floor, by the share that brings the three tops within the budget.
            let floors = 700 + 2 * leastUpload
            guard extra + floors <= fullMax else {
                throw SimulationError("the model's sizes.fullMaxBytes (\(fullMax)) leaves no room to simulate a full "
                    + "check-in: with this idle range and tls.uploadMinBytes (\(uploadMin)), sizes.fullMaxBytes must "
                    + "be at least \(extra + floors)")
            }
            let share = Double(fullMax - extra - floors) / Double(tops - floors)
            func shrunk(_ r: ClosedRange<Int>, _ floor: Int) -> ClosedRange<Int> {
                floor + Int(Double(r.lowerBound - floor) * share)...floor + Int(Double(r.upperBound - floor) * share)
            }
            download = shrunk(download, 700)
            log = shrunk(log, leastUpload)
            sensor = shrunk(sensor, leastUpload)
        }
        let (oversize, overflow) = uploadCap.addingReportingOverflow(20_000)
        if oversizeFault {
            guard oversize <= largestDraw else {
                throw SimulationError("the oversize-upload fault sends the upload cap plus 20 KB (\(oversize) bytes "
                    + "under this model), more than the simulator writes in one message (\(largestDraw) bytes)")
            }
            let needed = idle.upperBound + oversize + heads.post + heads.response + 32 + tlsFullExtra
            guard !overflow, needed <= fullMax else {
                throw SimulationError("the oversize-upload fault sends the upload cap plus 20 KB in one check-in: "
                    + "it needs sizes.fullMaxBytes of at least \(needed) under this model, got \(fullMax)")
            }
        }
        return SimulatedSizes(idle: idle, download: download, logUpload: log, sensorUpload: sensor,
                              oversizeUpload: oversize)
    }

    /// A model's byte count as an `Int` (models allow up to 2^40, which fits).
    private static func clamp(_ v: Int64) -> Int { Int(max(0, min(v, Int64(Int.max / 4)))) }
}

/// The longest heads of a fleet's plain-HTTP messages, from its secars path, user agent, ports and proxy.
struct HTTPHeadLengths: Sendable {
    /// The index check's GET request.
    var get: Int
    /// An upload's POST request, without its body (Content-Length of up to 10 digits).
    var post: Int
    /// The longest response head (503, with a Content-Length of up to 10 digits).
    var response: Int

    init(path: [UInt8], userAgent: [UInt8], httpPort: UInt16, proxy: Bool) {
        let host = Array("255.255.255.255:\(httpPort)".utf8)
        let absolute = proxy ? Array("http://255.255.255.255:\(httpPort)".utf8) : []
        var scratch: [UInt8] = []
        get = HTTPMessages.request(.get, token: 0, host: host, bodyLength: 0, salt: 0, into: &scratch,
                                   absolute: absolute, path: path, userAgent: userAgent)
        // The head as written for an empty body, with the 1-digit length widened to 10.
        post = HTTPMessages.request(.post, token: 0, host: host, bodyLength: 0, salt: 0, into: &scratch,
                                    absolute: absolute, path: path, userAgent: userAgent) + 9
        response = HTTPMessages.responseHeadLength(status: 503, bodyLength: 1_000_000_000)
    }
}
