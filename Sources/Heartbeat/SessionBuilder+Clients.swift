import Core
import Records
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Building clients apart

extension SessionBuilder {
    /// One client's share of the report, before the run-wide numbering.
    struct ClientOutcome: Sendable {
        /// In start order; `id` is the index in this list.
        var sessions: [SessionReport]
        var summary: ClientSummary
        /// Keys are indices in `sessions`.
        var pairs: [PairFinding]
        var unobserved: [(silence: Int, expected: Int)]
        /// Connections within the join gap that started a new check-in (`checkIn.joinMaxSeconds`).
        var joinSplits = 0
        /// Records with no SYN and no payload (`SessionBuilder.isEmptyPiece`), left out.
        var emptyPieces = 0
        /// Plain-HTTP connections with no secars request that joined no check-in (`isContentDownload`).
        var contentDownloads = 0
        /// Bursts of push connections with no client byte (`isServerPush`).
        var serverPushes = 0
        /// The starts of push connections' bursts of which nothing was captured, only bytes lost (`isUncaptured`).
        var uncaptured: [Timestamp] = []
        /// `sessions` by server, for the managers' list.
        var servers: ServerTally
        /// Ids of its manager connections still open when the capture ended (`went-silent` judges a client whose
        /// last check-in is on one as a push client).
        var openAtEnd: [UInt64] = []

        init(sessions: [SessionReport], summary: ClientSummary, pairs: [PairFinding],
             unobserved: [(silence: Int, expected: Int)], joinSplits: Int = 0, emptyPieces: Int = 0,
             contentDownloads: Int = 0, serverPushes: Int = 0, uncaptured: [Timestamp] = []) {
            self.servers = ServerTally(sessions)
            self.sessions = sessions
            self.summary = summary
            self.pairs = pairs
            self.unobserved = unobserved
            self.joinSplits = joinSplits
            self.emptyPieces = emptyPieces
            self.contentDownloads = contentDownloads
            self.serverPushes = serverPushes
            self.uncaptured = uncaptured
        }

        /// A client with no check-in, only counts of what was left out (`sessions` empty: not reported).
        init(client: IPAddress, emptyPieces: Int, tally: GroupTally) {
            self.init(sessions: [], summary: ClientSummary(
                client: client, sessions: 0, checkIns: 0, failed: 0, intervalSeconds: nil, missed: 0,
                accelerated: 0, expectedIntervalSeconds: 0), pairs: [], unobserved: [], joinSplits: tally.splits,
                emptyPieces: emptyPieces, contentDownloads: tally.contentDownloads, serverPushes: tally.serverPushes,
                uncaptured: tally.uncaptured)
        }
    }


    /// Runs `body` for every client of `work` with connections, on up to `threads` threads, and
    /// answers in `work`'s order (nil for a client without connections, or for which `body` answers
    /// nil). Each client's records are let
    /// go (`work[i].conns` emptied) as it is taken, so records and check-ins are not all held at once.
    ///
    /// `body` must depend on its arguments only (it runs on several threads at once); the answer is
    /// then the same whatever the number of threads.
    func buildClients(
        _ work: inout [(client: IPAddress, conns: [ConnectionRecord])],
        _ body: @Sendable (IPAddress, inout [ConnectionRecord]) -> ClientOutcome?
    ) -> [ClientOutcome?] {
        var outcomes = [ClientOutcome?](repeating: nil, count: work.count)
        let threads = min(max(1, self.threads), work.count)
        let count = work.count
        let next = Atomic<Int>(0)
        // Records are let go of on the calling thread only: the other threads hand theirs over here.
        // The C allocator takes a lock on the heap a block came from to free it, and these records were
        // made on the threads that read the capture; freed from two threads at once, while each also
        // allocates, they kept both threads waiting on those locks (thousands of sleeps on a 1 GB fleet).
        let caller = pthread_self()
        let handedOver = PosixMutex<[[ConnectionRecord]]>([])
        work.withUnsafeMutableBufferPointer { w in
            outcomes.withUnsafeMutableBufferPointer { o in
                // Each index is claimed by exactly one thread, so no element is touched by two.
                let items = UncheckedBuffers(work: w, outcomes: o)
                ParallelWork.perform(iterations: max(1, threads), threads: threads) { _ in
                    let onCaller = pthread_equal(pthread_self(), caller) != 0
                    while true {
                        let i = next.add(1, ordering: .relaxed).oldValue
                        guard i < count else { return }
                        var conns = items.work[i].conns
                        items.work[i].conns = []
                        guard !conns.isEmpty else { continue }
                        // Handed over as the only reference, so `body` may change the list in place.
                        items.outcomes[i] = body(items.work[i].client, &conns)
                        if onCaller {
                            let others = handedOver.withLock { list in
                                defer { list = [] }
                                return list
                            }
                            _ = consume others
                        } else {
                            handedOver.withLock { $0.append(conns) }
                        }
                    }
                }
            }
        }
        handedOver.withLock { $0 = [] }
        return outcomes
    }

    /// Makes equal finding messages of one client's check-ins share one copy (its step texts share theirs as
    /// they are made, through one `StepClassifier.TextMemo`). The report holds every check-in until it is
    /// written, and a client's findings mostly repeat the same words. Cost: one hash per message.
    ///
    /// Texts are equal here when their bytes are: Swift's `String` equality is canonical equivalence, under
    /// which `café` written with a combining accent equals the precomposed one, and a capture's SNI or path
    /// must be reported with its own bytes.
    static func shareEqualFindingTexts(_ sessions: inout [SessionReport]) {
        var seen = Set<ExactText>()
        for i in sessions.indices {
            for j in sessions[i].findings.indices {
                sessions[i].findings[j].message = seen.insert(ExactText(sessions[i].findings[j].message))
                    .memberAfterInsert.text
            }
        }
    }
}

/// The two buffers `buildClients` shares among its threads; safe because every index is claimed by
/// one thread only and the buffers outlive `ParallelWork.perform`.
private struct UncheckedBuffers: @unchecked Sendable {
    let work: UnsafeMutableBufferPointer<(client: IPAddress, conns: [ConnectionRecord])>
    let outcomes: UnsafeMutableBufferPointer<SessionBuilder.ClientOutcome?>
}

/// A string compared and hashed by its UTF-8 bytes, not by canonical equivalence.
struct ExactText: Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (a: ExactText, b: ExactText) -> Bool { a.text.hasSameUTF8(as: b.text) }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
