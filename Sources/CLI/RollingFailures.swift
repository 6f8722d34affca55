/// What stderr says of the reports so far that could not be written (`--every`): a failure once, not at every
/// interval (a full disk would repeat it every few seconds for hours), a different failure when it changes, and
/// one line when a report is written again, so the last line about the file tells whether it is current.
final class RollingFailures {
    private var last: String?

    /// The line to write for a report so far whose write failed with `problem` (nil: it was written), if any.
    func note(_ problem: String?, command: String, path: String) -> String? {
        defer { last = problem }
        guard let problem else {
            return last == nil ? nil : "sepbeat \(command): \(path): the report so far was written again"
        }
        guard problem != last else { return nil }
        return problem + " (the capture goes on; said again only when this changes)"
    }
}
