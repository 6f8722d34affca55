/// Rows of http.log or ssl.log waiting for their connection's conn.log row, filed by uid, with the order they
/// were read in: past `limit` rows the oldest is let go first, so rows whose connection never comes cannot
/// hold memory without bound.
struct WaitingRows<Row> {
    private var byUID: [String: [(order: Int, row: Row)]] = [:]
    /// Each row's uid in the order read; entries of rows taken since stay until passed or swept out.
    private var queue: [(order: Int, uid: String)] = []
    private var head = 0
    private var nextOrder = 0
    /// Rows held.
    private(set) var count = 0
    let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func contains(_ uid: String) -> Bool { byUID[uid] != nil }

    /// Files `row` under `uid`; returns how many rows were let go (0 or 1) to stay within `limit`.
    mutating func add(_ row: Row, uid: String) -> Int {
        byUID[uid, default: []].append((nextOrder, row))
        queue.append((nextOrder, uid))
        nextOrder += 1
        count += 1
        var dropped = 0
        while count > limit, dropOldest() { dropped += 1 }
        sweep()
        return dropped
    }

    /// The rows of `uid`, in the order read, no longer held.
    mutating func take(_ uid: String) -> [Row] {
        guard let rows = byUID.removeValue(forKey: uid) else { return [] }
        count -= rows.count
        sweep()
        return rows.map(\.row)
    }

    /// Lets go of every row held.
    mutating func removeAll() {
        byUID = [:]
        queue = []
        head = 0
        count = 0
    }

    /// Lets go of the oldest row held; false when none is.
    private mutating func dropOldest() -> Bool {
        while head < queue.count {
            let (order, uid) = queue[head]
            head += 1
            // An entry whose row was taken since is passed over.
            guard var rows = byUID[uid], rows.first?.order == order else { continue }
            rows.removeFirst()
            byUID[uid] = rows.isEmpty ? nil : rows
            count -= 1
            return true
        }
        return false
    }

    /// Drops the queue's entries of rows no longer held once they outnumber the rows held, and the entries
    /// passed once they are half of it, so that the queue follows the rows held, not the rows read.
    private mutating func sweep() {
        if queue.count - head > 2 * count + 1024 {
            queue = queue[head...].filter { entry in
                byUID[entry.uid]?.contains { $0.order == entry.order } ?? false
            }
            head = 0
        } else if head > 1024, head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }
}
