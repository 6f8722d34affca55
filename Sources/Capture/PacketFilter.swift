import Core

/// A BPF filter expression compiled once per link type met, run over packet bytes.
///
/// Link types whose programs fail to compile (e.g. `ether host` on raw IP) are
/// remembered: their packets do not match, and one warning per link type says so.
final class PacketFilter {
    let expression: String
    private var programs: [LinkType: BPFProgram?] = [:]
    private let limits: CaptureLimits

    /// Why the filter cannot apply to the file's own link type, when the expression is fine
    /// otherwise (it compiles for Ethernet): the file's packets are then left out, and the reader
    /// warns about it, as for a pcapng interface of such a type.
    private(set) var notApplicable: String?

    /// Compiles `expression` for `linkType` now, so a bad expression is reported at once. One that
    /// compiles for Ethernet but not for `linkType` (a link type libpcap has no filter support for,
    /// or `ether host` on raw IP) is no usage error: it only leaves this file's packets out.
    init(_ expression: String, checkedFor linkType: LinkType, path: String, limits: CaptureLimits)
        throws(CaptureError)
    {
        self.expression = expression
        self.limits = limits
        switch BPFProgram.compile(expression, linkType: linkType) {
        case .success(let program): programs[linkType] = program
        case .failure(let failure):
            guard linkType != .ethernet, case .success = BPFProgram.compile(expression, linkType: .ethernet) else {
                throw CaptureError(path: path, .badFilter(expression: expression, problem: failure.message))
            }
            programs[linkType] = .some(nil)
            notApplicable = "filter \"\(expression)\" cannot apply to link type \(linkType) "
                + "(\(oneLine(failure.message))); those packets are left out"
        }
    }

    /// Whether the record passes; may add a warning to `statistics` the first time a link type is met.
    func matches(_ record: PacketRecord, _ statistics: inout CaptureStatistics) -> Bool {
        if let known = programs[record.linkType] {
            return known?.matches(bytes: record.bytes, capturedLength: record.capturedLength,
                                  originalLength: record.originalLength) ?? false
        }
        guard programs.count < limits.maximumFilterPrograms else {
            statistics.warn(.limitReached, "filter compiled for \(limits.maximumFilterPrograms) link types already; "
                + "packets of \(record.linkType) are left out")
            programs[record.linkType] = .some(nil)
            return false
        }
        switch BPFProgram.compile(expression, linkType: record.linkType) {
        case .success(let program):
            programs[record.linkType] = program
            return program.matches(bytes: record.bytes, capturedLength: record.capturedLength,
                                   originalLength: record.originalLength)
        case .failure(let failure):
            statistics.warn(.filterNotApplicable, "filter \"\(expression)\" cannot apply to link type "
                + "\(record.linkType) (\(oneLine(failure.message))); those packets are left out")
            programs[record.linkType] = .some(nil)
            return false
        }
    }
}
