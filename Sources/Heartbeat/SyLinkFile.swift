import Core
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The communication settings of a SEP client, read from its SyLink.xml.
///
/// Only what analysis needs is kept: the server list, the communication mode and the
/// intervals. The `Kcs` key and any certificates are never stored; `kcsPresent` only says
/// whether the file had one. Attributes this type does not know are dropped unread.
public struct SyLinkFile: Hashable, Sendable {
    public enum CommunicationMode: String, Hashable, Sendable {
        case pull
        case push
    }

    /// One `Server` element of the server list.
    public struct Server: Hashable, Sendable {
        /// The `Address` attribute: an IP address or a host name (an IPv4-mapped IPv6 address is given
        /// as the IPv4 address it maps).
        public var address: String
        /// The address when `address` is IP address text; nil for a host name.
        public var ipAddress: IPAddress?
        /// From the block name `PriorityN` (1 = first choice); blocks without a number come after every numbered
        /// one, in file order (the first holding servers takes the file's largest block number + 1), so no two
        /// blocks tie.
        public var priority: Int
        public var httpPort: UInt16?
        public var httpsPort: UInt16?
        public var verifyCA: Bool?
        public var verifySignatures: Bool?
    }

    /// A `Server` element outside the `ServerList` (under `Backup`, say): no manager, so it is ignored, and named
    /// (`ignoredServersNote`) so that a user who took it for one learns why its check-ins are not judged.
    public struct IgnoredServer: Hashable, Sendable {
        /// The `Address` attribute as given (the key, should it hold it, withheld); nil when there is none.
        public var address: String?
        public var line: Int
    }

    /// A `ServerPriorityBlock` of the server list whose name ends in no number (`Backup`, or none): it comes after
    /// every numbered block, so its servers' priority is a rule of this tool's, which `unnumberedBlocksNote` names.
    public struct UnnumberedBlock: Hashable, Sendable {
        /// The `Name` attribute as given (blanks around it taken off); empty when there is none.
        public var name: String
        public var line: Int
        public var priority: Int
    }

    /// The path the file was read from (or the name given to `parse`).
    public var path: String
    public var domainID: String?
    public var communicationMode: CommunicationMode?
    public var pushHeartbeatSeconds: Int?
    /// A pull interval attribute (`PullHeartbeatSeconds` or `HeartbeatSeconds`) when the file has one; a file
    /// giving both with two values is refused.
    public var pullHeartbeatSeconds: Int?
    public var randomizationEnabled: Bool?
    public var randomizationRangeSeconds: Int?
    public var uploadLogHeartbeatSeconds: Int?
    public var uploadOpStateHeartbeatSeconds: Int?
    public var uploadCmdStateHeartbeatSeconds: Int?
    public var uploadLearnedApp: Bool?
    public var alwaysConnect: Bool?
    /// The file carries a `Kcs` key. The key itself is never kept.
    public var kcsPresent: Bool
    public var serverListName: String?
    /// The `Server` elements of the `ServerList` (no other `Server` is a manager), ordered by priority (their
    /// priority block's, 1 for one in no block), then by their order in the file.
    public var servers: [Server]
    /// The `Server` elements outside the `ServerList`, in file order.
    public var ignoredServers: [IgnoredServer]
    /// The list's `ServerPriorityBlock`s whose name ends in no number and that hold servers, in file order.
    public var unnumberedBlocks: [UnnumberedBlock] = []

    /// Reads and parses a SyLink.xml file.
    ///
    /// - Throws: `SyLinkError` naming the file and the problem (never quoting the key).
    public static func load(path: String) throws(SyLinkError) -> SyLinkFile {
        // A file over the limit is never loaded whole; a FIFO or pipe (`<(command)`) is read too.
        switch SettingsFile.read(path: path, limit: maxFileBytes) {
        case .success(let data):
            return try parse(data: data, name: path)
        case .failure(let problem):
            throw SyLinkError(file: path, problem: problem.text(limit: maxFileBytes, limitText: "4 MiB",
                                                                 what: "SyLink files"))
        }
    }

    /// Largest SyLink.xml accepted: 4 MiB. Real files are a few KB (a server list of a few dozen
    /// entries plus certificates); a bigger one is refused before parsing, saying so.
    public static let maxFileBytes = 4 * 1024 * 1024

    /// Parses SyLink.xml bytes; `name` identifies the file in errors.
    ///
    /// SyLink files carry no DTD: a file with a `<!DOCTYPE` or `<!ENTITY` declaration is refused
    /// before parsing, so no entity is ever expanded. Files over `maxFileBytes` are refused too.
    /// Cost: one pass over the bytes, then the XML parse.
    public static func parse(data: Data, name: String) throws(SyLinkError) -> SyLinkFile {
        guard data.count <= maxFileBytes else {
            throw SyLinkError(file: name, problem: "is \(data.count) bytes, over the \(maxFileBytes)-byte (4 MiB) "
                + "limit for SyLink files")
        }
        // An empty file (or one of blanks, after a UTF-8 byte-order mark if any) is said so, not as libxml2's error
        // or a root element "<none>".
        let text = data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data[...]
        guard text.contains(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) else {
            throw SyLinkError(file: name, problem: data.isEmpty ? "is empty: a SyLink file holds <ServerSettings>"
                : "holds only blanks: a SyLink file holds <ServerSettings>")
        }
        if let problem = unreadableEncoding(of: data) { throw SyLinkError(file: name, problem: problem) }
        if let declaration = dtdDeclaration(in: data) {
            throw SyLinkError(file: name, problem: "has a \(declaration) declaration; SyLink files have no DTD, "
                + "so DOCTYPE and ENTITY declarations are refused")
        }
        if let offset = invalidUTF8Offset(in: data) {
            throw SyLinkError(file: name, problem: "is not valid UTF-8 (byte offset \(offset)); SyLink files are UTF-8")
        }
        if let target = dataLessProcessingInstruction(in: data) {
            throw SyLinkError(file: name, problem: "has a processing instruction <?\(target)?> with no data; "
                + "SyLink files have none besides the XML declaration")
        }
        if let (line, tag) = crowdedStartTag(in: data) {
            throw SyLinkError(file: name, problem: "line \(line): <\(ReferenceModel.shown(tag))> has more than "
                + "\(maxAttributes) attributes; SyLink elements have a dozen or so, and the XML parser's time grows "
                + "with the square of their number, so the file is refused")
        }
        let collector = SyLinkCollector()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = collector
        let ok = parser.parse()
        let scrub = collector.withoutKey
        if !ok || collector.problem == nil && parser.parserError != nil {
            let code = (parser.parserError as NSError?)?.code ?? -1
            let (line, column) = collector.errorPosition ?? (parser.lineNumber, parser.columnNumber)
            let problem = "is not well-formed XML (error \(code) at line \(line), column \(column))"
            throw SyLinkError(file: name, problem: scrub(collector.problem ?? problem))
        }
        if let problem = collector.problem { throw SyLinkError(file: name, problem: scrub(problem)) }
        do {
            return try collector.finish(path: name)
        } catch {
            throw SyLinkError(file: name, problem: scrub(error.problem))
        }
    }
}

extension SyLinkFile {
    /// Encodings a SyLink file may declare: those the checks before parsing read the text in (UTF-8 and its
    /// ASCII subset, UTF-16 with a byte-order mark) or that libxml2 transcodes without changing ASCII
    /// (ISO-8859-1).
    static let readableEncodings: Set<String> = [
        "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "iso_8859-1", "latin1", "utf-16", "utf16", "utf-16le",
        "utf-16be",
    ]

    /// Why the file is in an encoding the checks before parsing cannot read, or nil when it is not.
    ///
    /// Those checks (no DTD, no processing instruction without data) read the bytes as UTF-8, or as UTF-16
    /// when a byte-order mark says so; libxml2 also detects UTF-16 and UTF-32 without one (`<` as `3C 00`)
    /// and switches to any encoding the declaration names (UTF-7 writes `<` as `+ADw-`). Such a file hid
    /// an entity declaration from the checks, and a processing instruction without data crashed the
    /// parser (SIGSEGV), so it is refused. Cost: one pass over the bytes.
    static func unreadableEncoding(of data: Data) -> String? {
        let utf16 = data.starts(with: [0xFE, 0xFF]) || data.starts(with: [0xFF, 0xFE])
        if !utf16, let zero = data.firstIndex(of: 0) {
            return "holds a zero byte at byte offset \(zero - data.startIndex), as UTF-16 or UTF-32 without a "
                + "byte-order mark would; SyLink files are UTF-8 (UTF-16 is read with a byte-order mark)"
        }
        var text = Substring(decodedText(of: data))
        if text.first == "\u{FEFF}" { text = text.dropFirst() }
        if utf16, text.isEmpty || text.contains("\0") {
            return "is not valid UTF-16 (after its byte-order mark)"
        }
        if let encoding = declaredEncoding(in: Data(text.prefix(200).utf8)),
           !readableEncodings.contains(encoding.lowercased()) {
            return "declares the encoding \"\(encoding.prefix(40))\", which is not read; SyLink files are UTF-8 "
                + "(ISO-8859-1, and UTF-16 with a byte-order mark, are read too)"
        }
        return nil
    }

    /// The offset of the first byte that is not valid UTF-8, for a file read as UTF-8: any file but
    /// one with a UTF-16 byte-order mark or one declared ISO-8859-1 (`latin1`). Nil otherwise.
    ///
    /// Checked before parsing because Foundation's XMLParser on Linux traps (instead of failing) on
    /// some invalid UTF-8 in an element name, e.g. `<S\u{B7}89C`, also when the declaration names an
    /// encoding libxml2 does not know. libxml2 transcodes ISO-8859-1 to UTF-8 itself. Cost: one
    /// pass over the bytes.
    static func invalidUTF8Offset(in data: Data) -> Int? {
        if data.starts(with: [0xFE, 0xFF]) || data.starts(with: [0xFF, 0xFE]) { return nil }
        if let encoding = declaredEncoding(in: data)?.lowercased(),
           ["iso-8859-1", "iso_8859-1", "latin1"].contains(encoding) { return nil }
        var bytes = data.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&bytes) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// The `encoding` of an XML declaration at the start of `data` (`<?xml ... encoding="..."?>`).
    static func declaredEncoding(in data: Data) -> String? {
        guard data.starts(with: Array("<?xml".utf8)) else { return nil }
        let head = data.prefix(200)
        guard let end = head.firstIndex(of: UInt8(ascii: ">")) else { return nil }
        let declaration = String(decoding: head[head.startIndex..<end], as: UTF8.self)
        guard let key = declaration.range(of: "encoding") else { return nil }
        let rest = declaration[key.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        return String(rest.dropFirst().prefix { $0 != quote })
    }

    /// The target of the first processing instruction with no data (`<?name?>`), outside comments
    /// and CDATA sections; nil when there is none. At most 40 characters of it are given.
    ///
    /// Checked before parsing because Foundation's XMLParser on Linux reads the missing data as a C
    /// string at address 0 and the process dies (SIGSEGV); a processing instruction with data
    /// (`<?name data?>`) is parsed and ignored. Cost: one pass over the text.
    static func dataLessProcessingInstruction(in data: Data) -> String? {
        let text = Array(decodedText(of: data).utf8)
        let commentStart = Array("<!--".utf8), commentEnd = Array("-->".utf8)
        let cdataStart = Array("<![CDATA[".utf8), cdataEnd = Array("]]>".utf8)
        func at(_ literal: [UInt8], _ position: Int) -> Bool {
            guard position + literal.count <= text.count else { return false }
            for k in 0..<literal.count where text[position + k] != literal[k] { return false }
            return true
        }
        func skip(past end: [UInt8], from position: Int) -> Int {
            var j = position
            while j < text.count, !at(end, j) { j += 1 }
            return j + end.count
        }
        let question = UInt8(ascii: "?")
        var i = 0
        while i < text.count {
            guard text[i] == UInt8(ascii: "<") else {
                i += 1
                continue
            }
            if at(commentStart, i) {
                i = skip(past: commentEnd, from: i + commentStart.count)
            } else if at(cdataStart, i) {
                i = skip(past: cdataEnd, from: i + cdataStart.count)
            } else if i + 1 < text.count, text[i + 1] == question {
                var j = i + 2
                while j < text.count, text[j] != question, text[j] != 32, text[j] != 9, text[j] != 10, text[j] != 13 {
                    j += 1
                }
                if j > i + 2, j + 1 < text.count, text[j] == question, text[j + 1] == UInt8(ascii: ">") {
                    return String(decoding: text[(i + 2)..<min(j, i + 42)], as: UTF8.self)
                }
                i = j
            } else {
                i += 1
            }
        }
        return nil
    }

    /// The text of a SyLink file: UTF-16 with a byte-order mark, else UTF-8 (bad bytes replaced).
    static func decodedText(of data: Data) -> String {
        if data.starts(with: [0xFE, 0xFF]) || data.starts(with: [0xFF, 0xFE]) {
            return String(data: data, encoding: .utf16) ?? ""
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Most attributes a start tag may give. libxml2 (2.9) compares each attribute of a tag with every one
    /// before it, so a file of 4 MiB holding one tag of 470,000 attributes kept a core busy for many minutes;
    /// at this limit a file of tags of this many attributes parses in a fraction of a second.
    static let maxAttributes = 256

    /// The line and name of the first start tag with more than `maxAttributes` attributes, outside comments,
    /// CDATA sections and processing instructions; nil when there is none. Counts the `=` outside quoted
    /// values, one per attribute. Cost: one pass over the text.
    static func crowdedStartTag(in data: Data) -> (line: Int, name: String)? {
        let text = Array(decodedText(of: data).utf8)
        let skipped: [(start: [UInt8], end: [UInt8])] = [("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")]
            .map { (Array($0.utf8), Array($1.utf8)) }
        func at(_ literal: [UInt8], _ position: Int) -> Bool {
            position + literal.count <= text.count && text[position..<(position + literal.count)].elementsEqual(literal)
        }
        var i = 0
        var line = 1
        while i < text.count {
            if text[i] == 10 { line += 1 }
            guard text[i] == UInt8(ascii: "<") else {
                i += 1
                continue
            }
            if let (start, end) = skipped.first(where: { at($0.start, i) }) {
                var j = i + start.count
                while j < text.count, !at(end, j) {
                    if text[j] == 10 { line += 1 }
                    j += 1
                }
                i = j + end.count
                continue
            }
            let tagLine = line
            var j = i + 1
            var quote: UInt8?
            var attributes = 0
            while j < text.count, quote != nil || text[j] != UInt8(ascii: ">") {
                if text[j] == 10 { line += 1 }
                if let q = quote {
                    if text[j] == q { quote = nil }
                } else if text[j] == UInt8(ascii: "\"") || text[j] == UInt8(ascii: "'") {
                    quote = text[j]
                } else if text[j] == UInt8(ascii: "=") {
                    attributes += 1
                }
                j += 1
            }
            if attributes > maxAttributes {
                let name = text[(i + 1)...].prefix { ![32, 9, 10, 13, UInt8(ascii: ">")].contains($0) }.prefix(40)
                return (tagLine, String(decoding: name, as: UTF8.self))
            }
            i = j + 1
        }
        return nil
    }

    /// `<!DOCTYPE` or `<!ENTITY` when the text holds one (UTF-8, or UTF-16 with a byte-order mark).
    static func dtdDeclaration(in data: Data) -> String? {
        let text = decodedText(of: data)
        for word in ["<!DOCTYPE", "<!ENTITY"] where text.range(of: word, options: .caseInsensitive) != nil {
            return word
        }
        return nil
    }
}

extension SyLinkFile {
    /// One line naming the ignored `Server` elements (the first four, then how many more) and why; nil when there
    /// is none. The CLI gives it as a warning.
    public var ignoredServersNote: String? {
        guard !ignoredServers.isEmpty else { return nil }
        let n = ignoredServers.count
        var named = ignoredServers.prefix(4).map { s in
            (s.address.map { "\"" + ReferenceModel.shown($0) + "\"" } ?? "one with no Address") + " (line \(s.line))"
        }
        if n > named.count { named.append("\(n - named.count) more") }
        let what = n == 1 ? "a Server element outside the ServerList is"
            : "\(n) Server elements outside the ServerList are"
        let list = named.count > 1 ? named.dropLast().joined(separator: ", ") + " and " + (named.last ?? "") : named[0]
        return "\(path): \(what) ignored (only the list's servers are managers): \(list)"
    }

    /// One line naming the priority blocks whose name ends in no number (the first four, then how many more) and
    /// the priority their servers were given; nil when there is none. The CLI gives it as a warning: the order a
    /// client gives such a block is not documented.
    public var unnumberedBlocksNote: String? {
        guard !unnumberedBlocks.isEmpty else { return nil }
        let n = unnumberedBlocks.count
        var named = unnumberedBlocks.prefix(4).map { b in
            (b.name.isEmpty ? "one with no Name" : "\"" + ReferenceModel.shown(b.name) + "\"")
                + " (line \(b.line)): priority \(b.priority)"
        }
        if n > named.count { named.append("\(n - named.count) more") }
        let what = n == 1 ? "a ServerPriorityBlock whose name ends in no number is"
            : "\(n) ServerPriorityBlocks whose names end in no number are"
        let list = named.count > 1 ? named.dropLast().joined(separator: ", ") + " and " + (named.last ?? "") : named[0]
        return "\(path): \(what) taken after every numbered block, in file order (PriorityN gives priority N): "
            + list
    }
}

extension SyLinkFile: CustomStringConvertible {
    /// A one-line summary; never includes the key.
    public var description: String {
        let mode = communicationMode?.rawValue ?? "unknown mode"
        let list = servers.map { "\($0.address) (priority \($0.priority))" }.joined(separator: ", ")
        return "SyLink \(path): \(mode), servers \(list), key \(kcsPresent ? "present" : "absent")"
    }
}

extension SyLinkFile: CustomDebugStringConvertible {
    public var debugDescription: String { description }
}

/// A SyLink.xml that cannot be used, naming the file and the problem.
public struct SyLinkError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var problem: String

    public var description: String { "\(file): \(problem)" }

    /// Exit status for the CLI: 2, a usage problem.
    public var exitStatus: Int32 { 2 }
}

/// SAX delegate gathering the known elements. It holds the key only while parsing, to
/// scrub it from error text, and `finish` does not copy it into the result.
private final class SyLinkCollector: NSObject, XMLParserDelegate {
    var rootName: String?
    var settings: [String: String] = [:]
    var root: [String: String] = [:]
    var serverListName: String?
    /// Inside the `ServerList`: only its `Server` elements are managers.
    var inServerList = false
    /// The priority of the numbered `ServerPriorityBlock` of the server list being read; nil outside one.
    var blockPriority: Int?
    /// The place, among the blocks whose name ends in no number and that hold servers, of the one being read (from
    /// 1); nil outside one and before its first server.
    var unnumberedBlock: Int?
    /// The `Name` and line of the unnumbered block being read, until its first server gives it a place.
    var unplacedBlock: (name: String, line: Int)?
    /// The `Name` and line of each unnumbered block that holds servers, in file order.
    var unnumberedNames: [(name: String, line: Int)] = []
    /// The largest block number of the server list (0: none).
    var mostNumbered = 0
    /// Each server with its block's number, or for one in an unnumbered block that block's place among them (the
    /// priority is known once every block was read).
    var servers: [(attrs: [String: String], priority: Int, unnumbered: Int?, line: Int)] = []
    /// `Server` elements outside the `ServerList`: their `Address` and line.
    var outside: [(address: String?, line: Int)] = []
    var kcsValue: String?
    var problem: String?
    /// The line of the first `CommConf`, `AgentCommunicationSetting` and `ServerList` (lowercased names).
    var firstLines: [String: Int] = [:]
    /// Where the parser reported its first error. After `parse()` returns, its position is where it stopped
    /// reading, often the file's last line: a repeated attribute on line 18 of 29 was said to be at line 29.
    var errorPosition: (line: Int, column: Int)?

    /// Elements whose attributes are read (lowercased names).
    private static let read: Set<String> = [
        "serversettings", "agentcommunicationsetting", "serverlist", "serverpriorityblock", "server",
    ]

    /// Elements a SyLink file has once: of two, which one a client goes by is not known.
    private static let single: Set<String> = ["commconf", "agentcommunicationsetting", "serverlist"]

    private static let keptSettings: Set<String> = [
        "communicationmode", "pushheartbeatseconds", "pullheartbeatseconds", "heartbeatseconds",
        "randomizationenabled", "randomizationrange", "uploadlogheartbeatseconds",
        "uploadopstateheartbeatseconds", "uploadcmdstateheartbeatseconds", "uploadlearnedapp", "alwaysconnect",
    ]

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        let attrs = Dictionary(attributes.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        if rootName == nil { rootName = name }
        let lowered = name.lowercased()
        // Names are read without regard to case, and the parser hands the attributes over unordered: of
        // `Address` and `ADDRESS`, which one counted changed from run to run.
        if attrs.count < attributes.count, Self.read.contains(lowered) {
            let twice = Dictionary(grouping: attributes.keys, by: { $0.lowercased() }).values
                .filter { $0.count > 1 }.map { $0.sorted() }.min { $0[0] < $1[0] } ?? []
            problem = "line \(parser.lineNumber): <\(name)> gives one attribute under several spellings ("
                + twice.joined(separator: ", ") + "); names are read without regard to case, so which one counts "
                + "is not known: keep one"
            parser.abortParsing()
            return
        }
        if Self.single.contains(lowered) {
            // The last one would win without a word: its settings, and both lists' servers merged.
            if let first = firstLines[lowered] {
                problem = "line \(parser.lineNumber): a second <\(name)> (the first on line \(first)); a client goes "
                    + "by one, and which is not known, so the file is refused: keep the one the client uses"
                parser.abortParsing()
                return
            }
            firstLines[lowered] = parser.lineNumber
        }
        switch lowered {
        case "serversettings":
            root = attrs.filter { ["domainid"].contains($0.key) }
        case "agentcommunicationsetting":
            if let k = attrs["kcs"] { kcsValue = k }
            settings = attrs.filter { Self.keptSettings.contains($0.key) }
        case "serverlist":
            serverListName = attrs["name"]
            inServerList = true
        case "serverpriorityblock" where inServerList:
            // Blanks around the name are no part of it (`"Priority3 "` is block 3, as `" Priority3"` was).
            let label = (attrs["name"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let digits = String(label.reversed().prefix { $0.isASCII && $0.isNumber }.reversed())
            let number = Int(digits)
            // Priorities count from 1, the first choice, as model files' do: a block numbered 0 (or below, as
            // `Priority-2`) would rank its servers above every `Priority1` one on a guess, and one past a model's
            // largest priority would be taken in file order, which its number contradicts.
            let signed = !digits.isEmpty && label.dropLast(digits.count).hasSuffix("-")
            let shown = signed && number != 0 ? "-" + (number.map(String.init) ?? digits) : "0"
            let why = number == 0 || signed ? "priority \(shown); priorities count from 1"
                : !digits.isEmpty && (number ?? .max) > Int(Int32.max) ? "a priority past \(Int32.max)" : nil
            if let why {
                problem = "line \(parser.lineNumber): <\(name) Name=\"\(ReferenceModel.shown(label))\"> gives "
                    + "\(why) (Priority1 is the first choice), so the file is refused: number the blocks from 1"
                parser.abortParsing()
                return
            }
            // A block with no number comes after the numbered ones, whatever its place: taking its place as its
            // priority tied it with the numbered block of that number.
            if let number {
                blockPriority = number
                mostNumbered = max(mostNumbered, number)
            } else {
                unplacedBlock = (label, parser.lineNumber)
            }
        case "server":
            // A `Server` outside the `ServerList` (under `Backup`, say) is in no server list: counting it made a
            // manager of such an address. One in the list but in no block counts, at priority 1: the nesting of
            // blocks is reconstructed, not documented (heartbeat-protocol.md), so a real file may lack them.
            guard inServerList else {
                outside.append((attrs["address"], parser.lineNumber))
                break
            }
            // An unnumbered block takes its place at its first server: an empty one taking a place left a gap
            // before the next one's priority (Priority1, an empty block, Backup gave Backup priority 3).
            if let block = unplacedBlock {
                unnumberedNames.append(block)
                unnumberedBlock = unnumberedNames.count
                unplacedBlock = nil
            }
            let kept = attrs.filter { ["address", "httpport", "httpsport", "httpsverifyca", "verifysignatures"]
                .contains($0.key) }
            servers.append((kept, blockPriority ?? 1, unnumberedBlock, parser.lineNumber))
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if errorPosition == nil { errorPosition = (parser.lineNumber, parser.columnNumber) }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name.lowercased() {
        case "serverpriorityblock":
            blockPriority = nil
            unnumberedBlock = nil
            unplacedBlock = nil
        case "serverlist": inServerList = false
        default: break
        }
    }

    /// `text` with every occurrence of the `Kcs` value replaced, for error text and the names of ignored servers.
    func withoutKey(_ text: String) -> String {
        guard let kcsValue, !kcsValue.isEmpty else { return text }
        return text.replacingOccurrences(of: kcsValue, with: "<key withheld>")
    }

    func finish(path: String) throws(SyLinkError) -> SyLinkFile {
        func fail(_ p: String) -> SyLinkError { SyLinkError(file: path, problem: p) }
        guard let rootName, rootName.lowercased() == "serversettings" else {
            throw fail("is not a SyLink file: the root element is <\(rootName ?? "none")>, expected <ServerSettings>")
        }
        // Times share the model's range: at most one week; a pull or push interval must also be at
        // least `ReferenceModel.minIntervalSeconds`.
        let most = Int(ReferenceModel.maxIntervalSeconds)
        func int(_ key: String, _ label: String, least: Int = 0) throws(SyLinkError) -> Int? {
            guard let text = settings[key] else { return nil }
            let digits = text.trimmingCharacters(in: .whitespaces)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(digits),
                  v >= least, v <= most else {
                throw fail("\(label) must be a whole number of seconds from \(least) to \(most), got \"\(text)\"")
            }
            return v
        }
        func bool(_ text: String?, _ label: String) throws(SyLinkError) -> Bool? {
            guard let text else { return nil }
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "1", "true", "yes": return true
            case "0", "false", "no": return false
            default: throw fail("\(label) must be 0 or 1, got \"\(text)\"")
            }
        }
        var mode: SyLinkFile.CommunicationMode?
        if let text = settings["communicationmode"] {
            guard let m = SyLinkFile.CommunicationMode(rawValue: text.lowercased()) else {
                throw fail("CommunicationMode must be PUSH or PULL, got \"\(text)\"")
            }
            mode = m
        }
        var list: [SyLinkFile.Server] = []
        for (i, entry) in servers.enumerated() {
            let label = "Server #\(i + 1) (line \(entry.line))"
            guard let given = entry.attrs["address"]?.trimmingCharacters(in: .whitespaces), !given.isEmpty else {
                throw fail("\(label) has no Address")
            }
            // As `--server` takes a host: a URL, HOST:PORT or [v6] is no address and would never match,
            // nor is a name ending in a number (`0x0a.1.0.10`, `10.1.10`).
            guard ReferenceModel.isServerHost(given, bracketed: false) else {
                throw fail("\(label) Address must be an IPv4 address, an IPv6 address or a host name "
                    + "(no scheme, port or brackets), got \"\(ReferenceModel.shown(given))\""
                    + ReferenceModel.numericHint(given))
            }
            // `::ffff:10.1.0.10` is 10.1.0.10, as the packets carry it.
            let address = ReferenceModel.mappedIPv4Text(given)
            func port(_ key: String, _ name: String) throws(SyLinkError) -> UInt16? {
                guard let text = entry.attrs[key] else { return nil }
                // Digits only, as `--server` takes a port: `UInt16("+443")` is 443, and a sign is no part of one.
                let digits = text.trimmingCharacters(in: .whitespaces)
                guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(digits), p > 0 else {
                    throw fail("\(label) \(name) must be a port number 1-65535, got \"\(text)\"")
                }
                return p
            }
            list.append(SyLinkFile.Server(
                address: address, ipAddress: IPAddress(address),
                priority: entry.unnumbered.map { mostNumbered + $0 } ?? entry.priority,
                httpPort: try port("httpport", "HttpPort"), httpsPort: try port("httpsport", "HttpsPort"),
                verifyCA: try bool(entry.attrs["httpsverifyca"], "\(label) HttpsVerifyCA"),
                verifySignatures: try bool(entry.attrs["verifysignatures"], "\(label) VerifySignatures")))
        }
        guard !list.isEmpty else { throw fail("lists no Server in its ServerList") }
        // Unnumbered blocks take the numbers after the largest one; past a model's largest priority, the printed
        // model could not be loaded back.
        if let last = list.map(\.priority).max(), last > Int(Int32.max) {
            throw fail("a ServerPriorityBlock whose name ends in no number would come after Priority\(mostNumbered), "
                + "at priority \(last), past \(Int32.max), so the file is refused: number the blocks")
        }
        let leastInterval = Int(ReferenceModel.minIntervalSeconds)
        let pullAttribute = try int("pullheartbeatseconds", "PullHeartbeatSeconds", least: leastInterval)
        let plainAttribute = try int("heartbeatseconds", "HeartbeatSeconds", least: leastInterval)
        // No source says which of the two a client reads (or that either exists): two values cannot be judged.
        if let pullAttribute, let plainAttribute, pullAttribute != plainAttribute {
            throw fail("PullHeartbeatSeconds=\"\(pullAttribute)\" and HeartbeatSeconds=\"\(plainAttribute)\" "
                + "differ; which one a client goes by is not known, so the file is refused: keep one")
        }
        let pull = pullAttribute ?? plainAttribute
        let ordered = list.enumerated().sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }
        return SyLinkFile(
            path: path, domainID: root["domainid"], communicationMode: mode,
            pushHeartbeatSeconds: try int("pushheartbeatseconds", "PushHeartbeatSeconds", least: leastInterval),
            pullHeartbeatSeconds: pull,
            randomizationEnabled: try bool(settings["randomizationenabled"], "RandomizationEnabled"),
            randomizationRangeSeconds: try int("randomizationrange", "RandomizationRange"),
            uploadLogHeartbeatSeconds: try int("uploadlogheartbeatseconds", "UploadLogHeartbeatSeconds"),
            uploadOpStateHeartbeatSeconds: try int("uploadopstateheartbeatseconds", "UploadOpStateHeartbeatSeconds"),
            uploadCmdStateHeartbeatSeconds: try int("uploadcmdstateheartbeatseconds",
                                                    "UploadCmdStateHeartbeatSeconds"),
            uploadLearnedApp: try bool(settings["uploadlearnedapp"], "UploadLearnedApp"),
            alwaysConnect: try bool(settings["alwaysconnect"], "AlwaysConnect"),
            kcsPresent: kcsValue != nil, serverListName: serverListName, servers: ordered.map(\.element),
            ignoredServers: outside.map { .init(address: $0.address.map(withoutKey), line: $0.line) },
            unnumberedBlocks: unnumberedNames.enumerated().map { place, block in
                .init(name: withoutKey(block.name), line: block.line, priority: mostNumbered + place + 1)
            })
    }
}
