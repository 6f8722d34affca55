import Core
import Foundation

/// A model file that cannot be used, with the file and the field at fault.
///
/// `description` reads like `model.json: field "interval.seconds" must be a positive number, got -5`.
public struct ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file as named by the caller (`<built-in>` for the shipped model).
    public var file: String
    /// Dotted path of the offending field (`steps[2].id`), or nil for file-level problems.
    public var field: String?
    /// What is wrong, without the file or field name.
    public var problem: String

    public var description: String {
        if let field { return "\(file): field \"\(field)\" \(problem)" }
        return "\(file): \(problem)"
    }

    /// Exit status for the CLI: 2, a usage problem.
    public var exitStatus: Int32 { 2 }
}

extension ReferenceModel {
    /// The model shipped with the package (`Resources/reference-model.json`, compiled in), decoded once.
    public static let builtIn: ReferenceModel = {
        do {
            return try decodeValidated(tree: builtInTree(), file: "<built-in>")
        } catch {
            // The text is part of the build and tested; a broken one is a build bug, not input.
            preconditionFailure("built-in reference model is invalid: \(error)")
        }
    }()

    /// Loads a model file. Fields left out keep their built-in values; unknown fields are
    /// rejected (keys starting with `_` are comments and ignored), and so is a field given twice in one
    /// object; every value is checked.
    ///
    /// - Throws: `ModelError` naming the file and the field.
    public static func load(path: String) throws(ModelError) -> ReferenceModel {
        // A file over the limit is never loaded whole (nor decoded into a tree); a FIFO or pipe is read too.
        switch SettingsFile.read(path: path, limit: maxFileBytes) {
        case .success(let data):
            return try parse(data: data, file: path)
        case .failure(let problem):
            throw ModelError(file: path, field: nil, problem: problem.text(limit: maxFileBytes, limitText: "1 MiB",
                                                                           what: "model files"))
        }
    }

    /// Largest model file accepted: 1 MiB. The built-in model is a few KiB of JSON; a file over the
    /// limit is refused before it is read.
    public static let maxFileBytes = 1 << 20

    /// Parses model JSON already in memory; `file` names it in errors. Data over `maxFileBytes` is refused.
    public static func parse(data: Data, file: String) throws(ModelError) -> ReferenceModel {
        guard data.count <= maxFileBytes else {
            throw ModelError(file: file, field: nil, problem: "is \(data.count) bytes, over the \(maxFileBytes)-byte "
                + "(1 MiB) limit for model files")
        }
        let user: Any
        do {
            user = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw ModelError(file: file, field: nil, problem: "is not valid JSON (\(jsonErrorText(error)))")
        }
        guard let userObject = user as? [String: Any] else {
            throw ModelError(file: file, field: nil, problem: "must hold a JSON object at the top level")
        }
        // The parser keeps a repeated key's last value without a word: an edit to the first would do nothing.
        if let repeated = repeatedKey(in: data) {
            throw ModelError(file: file, field: nil, problem: "line \(repeated.line): field \"\(repeated.field)\" is "
                + "given twice (first on line \(repeated.firstLine)); only one value can count: remove one")
        }
        let base = builtInTree()
        try checkKnownFields(userObject, against: base, path: "", file: file)
        let derived = derivingIntervalFields(userObject)
        var model = try decodeValidated(tree: merge(derived.tree, over: base), file: file)
        // As for `--interval`: the push heartbeat is judged from the values the file gave and the built-in ones
        // it left out, not from those fitted to its short pull interval.
        if derived.fitted { model.interval.ownRules = derived.own }
        return model
    }

    /// `user` with the interval's tolerance, accelerated range and longest accelerated run derived from its
    /// `interval.seconds` where the file gives the interval but not those (as `withDerivedInterval` derives
    /// them for `--interval`): the built-in values were written for 300 s, and a file that sets only
    /// `"seconds": 60` would otherwise be refused over a 30 s tolerance it never wrote. Values the file
    /// gives are kept; an interval that is no positive number is left for validation to name.
    /// Also returns the rules the file gave or left to the built-in model (`Interval.ownRules`), and whether any
    /// was fitted to the interval.
    static func derivingIntervalFields(_ user: [String: Any])
        -> (tree: [String: Any], own: IntervalRules, fitted: Bool) {
        let builtIn = ReferenceModel.builtIn.interval
        func given(_ key: String, _ fallback: Double) -> Double {
            guard let value = (user["interval"] as? [String: Any])?[key], !(value is Bool),
                  let number = value as? NSNumber else { return fallback }
            return number.doubleValue
        }
        let own = IntervalRules(
            toleranceSeconds: given("toleranceSeconds", builtIn.toleranceSeconds),
            acceleratedMaxSeconds: given("acceleratedMaxSeconds", builtIn.acceleratedMaxSeconds),
            acceleratedRunMaxSeconds: given("acceleratedRunMaxSeconds", builtIn.acceleratedRunMaxSeconds))
        guard var interval = user["interval"] as? [String: Any], let value = interval["seconds"],
              let number = value as? NSNumber, !(value is Bool) else { return (user, own, false) }
        let seconds = number.doubleValue
        guard seconds.isFinite, seconds > 0 else { return (user, own, false) }
        var fitted = false
        func derive(_ key: String, _ builtInValue: Double, _ fit: Double) {
            guard interval[key] == nil else { return }
            interval[key] = min(builtInValue, fit)
            fitted = fitted || fit < builtInValue
        }
        derive("toleranceSeconds", builtIn.toleranceSeconds, share(of: seconds, by: 10))
        derive("acceleratedMaxSeconds", builtIn.acceleratedMaxSeconds, share(of: seconds, by: 5))
        derive("acceleratedRunMaxSeconds", builtIn.acceleratedRunMaxSeconds, seconds)
        var out = user
        out["interval"] = interval
        return (out, own, fitted)
    }

    // MARK: - Overrides

    /// The model with another expected interval, pinned so that SyLink.xml cannot change it.
    ///
    /// The tolerance and accelerated range are derived from a short interval as
    /// `withDerivedInterval(seconds:pinned:source:)` describes.
    ///
    /// - Throws: `ModelError` when `seconds` is not from `minIntervalSeconds` to `maxIntervalSeconds`.
    public func withInterval(seconds: Double) throws(ModelError) -> ReferenceModel {
        let m = try withDerivedInterval(seconds: seconds, pinned: true, source: "--interval")
        try m.validate(file: "--interval")
        return m
    }

    /// The model with one more known manager from `HOST[:PORT]` (`[v6]:PORT` for IPv6).
    ///
    /// - Throws: `ModelError` when the text is empty, a URL (a scheme or path), no host, or the port is not
    ///   1-65535.
    public func withServer(_ spec: String) throws(ModelError) -> ReferenceModel {
        let server = try Self.parseServerSpec(spec)
        var m = self
        m.add([server])
        return m
    }

    /// Adds `new` to `servers`, keeping one entry per manager (host and port, `serverKey`): a model file may
    /// not repeat one, so `sepbeat model` printing `--server`, SyLink.xml and the model's servers together
    /// wrote files it then refused. The entry kept is the one the analysis goes by (`--server` over SyLink.xml
    /// over the model file, then the better priority), in the first one's place. Cost: one key per entry, looked
    /// up in a dictionary (a SyLink.xml may list 100,000 servers).
    mutating func add(_ new: [Server]) {
        func rank(_ s: Server) -> (Int, Int) {
            (s.origin == "option" ? 0 : s.origin == "sylink" ? 1 : 2, s.priority ?? Int.max)
        }
        var index: [String: Int] = [:]
        for (i, s) in servers.enumerated() {
            let key = Self.serverKey(s)
            if index[key] == nil { index[key] = i }
        }
        for server in new {
            let key = Self.serverKey(server)
            guard let i = index[key] else {
                index[key] = servers.count
                servers.append(server)
                continue
            }
            if rank(server) < rank(servers[i]) { servers[i] = server }
        }
    }

    static func parseServerSpec(_ spec: String) throws(ModelError) -> Server {
        let text = spec.trimmingCharacters(in: .whitespaces)
        func bad(_ why: String) -> ModelError { ModelError(file: "--server", field: nil, problem: why) }
        guard !text.isEmpty else { throw bad("needs HOST or HOST:PORT, got an empty value") }
        // A URL (`http://10.1.0.10`, `10.1.0.10/secars`) is no host; said before HOST:PORT is split, which
        // would take `//10.1.0.10` for a port.
        guard !text.contains("/") else {
            throw bad("must be HOST or HOST:PORT: an IPv4 address, [IPv6]:PORT or a host name (no scheme or "
                + "path), got \"\(shown(text))\"")
        }
        var host = text
        var portText: String?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("\"\(shown(text))\" opens [ without ]") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") { portText = String(rest.dropFirst()) } else if !rest.isEmpty {
                throw bad("\"\(shown(text))\" has text after ]")
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        } else if let (address, port) = Self.ambiguousIPv6(text) {
            throw bad("\"\(shown(text))\" is ambiguous: write [\(address)]:\(port) for \(address) port \(port), or "
                + "[\(text)] for the address \(text)")
        }
        guard !host.isEmpty else { throw bad("\"\(shown(text))\" has no host") }
        guard isServerHost(host, bracketed: text.hasPrefix("[")) else {
            throw bad("\"\(shown(text))\" is not an IPv4 address, an IPv6 address ([IPv6]:PORT with a port) "
                + "or a host name" + numericHint(host) + bracketHint(text))
        }
        host = mappedIPv4Text(host)
        var port: UInt16?
        if let portText {
            // Digits only: `UInt16("+443")` is 443, and a sign is no part of a port.
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(portText), p > 0 else {
                throw bad("port must be a number 1-65535, got \"\(shown(portText))\"")
            }
            port = p
        }
        return Server(host: host, port: port, priority: nil, origin: "option")
    }

    /// For a refused unbracketed text with several colons that is an IPv6 address and a port once split at
    /// its last colon (`::ffff:10.1.0.10:443`): the bracketed form to write. Else empty.
    static func bracketHint(_ text: String) -> String {
        guard !text.hasPrefix("["), text.filter({ $0 == ":" }).count > 1, let colon = text.lastIndex(of: ":")
        else { return "" }
        let address = String(text[..<colon])
        let port = String(text[text.index(after: colon)...])
        guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(port), p > 0,
              IPAddress(address)?.isIPv6 == true else { return "" }
        return "; for \(address) port \(port) write [\(address)]:\(port)"
    }

    /// A bare IPv6 address that reads two ways: split at its last colon, it is also an IPv6 address and a
    /// port (`::1:443` is the address ::1:443, or ::1 port 443; so is `fe80::1:8014`). Those parts, or nil
    /// when the text reads one way only: `fe80::1`, `2001:db8::443` (`2001:db8:` is no address), eight
    /// groups, or a last group that is no port number 1-65535 (`::1:abcd`, `::ffff:10.1.0.10`).
    static func ambiguousIPv6(_ text: String) -> (address: String, port: String)? {
        guard IPAddress(text)?.isIPv6 == true, let colon = text.lastIndex(of: ":") else { return nil }
        let address = String(text[..<colon])
        let port = String(text[text.index(after: colon)...])
        guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(port), p > 0,
              IPAddress(address)?.isIPv6 == true else { return nil }
        return (address, port)
    }

    /// True for IPv4 text (four decimal numbers 0-255, no leading zeros), IPv6 text, or an RFC 1123 host
    /// name (labels of 1-63 letters, digits and hyphens, not starting or ending with a hyphen, 253
    /// characters at most) whose last label is not a number. Inside brackets only IPv6 is accepted. Also
    /// checks SyLink.xml's server addresses and a model file's server hosts.
    ///
    /// A name ending in a number (`0x0a.1.0.10`, `012.1.0.10`, `10.1.10`, `10.1.0.10.`) is an address in
    /// a form some resolvers take (hex or octal parts, fewer than four parts) and no host name (RFC 3696
    /// 2: a top-level label is never all-numeric); as a name it would never match, so it is refused.
    static func isServerHost(_ host: String, bracketed: Bool) -> Bool {
        let address = IPAddress(host)
        if bracketed || host.contains(":") { return address?.isIPv6 ?? false }
        if host.allSatisfy({ $0 == "." || $0.isASCII && $0.isNumber }) { return address.map { !$0.isIPv6 } ?? false }
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        guard !name.isEmpty, name.utf8.count <= 253, !IPAddress.looksNumeric(host) else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// For a refused host that looks numeric (no colon, last label a number): what a numeric address
    /// must look like, to follow the refusal; else "".
    static func numericHint(_ host: String) -> String {
        guard !host.contains(":"), IPAddress.looksNumeric(host) else { return "" }
        return " (an IPv4 address is four decimal numbers 0-255 without leading zeros, as in 10.1.0.10; hex, "
            + "octal (a leading 0, as in 012) or fewer parts are not read)"
    }

    /// `host` as the IPv4 address it maps when it is an IPv4-mapped IPv6 address (`::ffff:10.1.0.10`
    /// gives `10.1.0.10`), since packets carry the IPv4 address; a host name without the trailing dot of
    /// its fully qualified form (`sepm.example.test.`), as an SNI or Host header names it; else `host`
    /// unchanged.
    static func mappedIPv4Text(_ host: String) -> String {
        if IPAddress(host) == nil, host.count > 1, host.hasSuffix(".") { return String(host.dropLast()) }
        guard let address = IPAddress(host), address.isIPv6, !address.unmappingIPv4.isIPv6 else { return host }
        return address.unmappingIPv4.description
    }

    /// Option text for an error message: control characters as `\u{..}`, at most 80 characters.
    static func shown(_ text: String) -> String {
        var out = ""
        for u in text.unicodeScalars {
            out += u.value < 0x20 || u.value == 0x7F ? "\\u{" + String(u.value, radix: 16) + "}" : String(u)
        }
        return out.count > 80 ? String(out.prefix(77)) + "..." : out
    }

    // MARK: - Decoding

    /// The built-in model's JSON tree, from the text compiled into the binary (`builtInText`): an
    /// installed `sepbeat` reads no file for it.
    private static func builtInTree() -> [String: Any] {
        guard let tree = try? JSONSerialization.jsonObject(with: Data(builtInText.utf8), options: [])
                as? [String: Any]
        else {
            // Checked by the tests (BuiltInModelTextTests): a broken text is a build bug, not input.
            preconditionFailure("the built-in reference model text is not a JSON object")
        }
        return tree
    }

    private static func decodeValidated(tree: [String: Any], file: String) throws(ModelError) -> ReferenceModel {
        try checkPorts(tree, file: file)
        try checkWholeNumbers(tree, file: file)
        var model: ReferenceModel
        do {
            let data = try JSONSerialization.data(withJSONObject: tree, options: [])
            model = try JSONDecoder().decode(ReferenceModel.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, tree: tree, file: file)
        } catch {
            throw ModelError(file: file, field: nil, problem: "could not be decoded")
        }
        try model.validate(file: file)
        // `origin` says where `sepbeat model` found a manager (`option`, `sylink`); read back, the file is where
        // it comes from: a manager it lists is the model's, whatever made the file.
        for i in model.servers.indices {
            if let origin = model.servers[i].origin, !["model", "option", "sylink"].contains(origin) {
                throw ModelError(file: file, field: "servers[\(i)].origin",
                                 problem: "must be one of model, option, sylink, got \(jsonText(origin))")
            }
            model.servers[i].origin = nil
        }
        return model
    }

    private static func describe(_ error: DecodingError, tree: [String: Any], file: String) -> ModelError {
        func path(_ keys: [CodingKey]) -> String {
            var out = ""
            for k in keys {
                if let i = k.intValue {
                    out += "[\(i)]"
                } else {
                    out += out.isEmpty ? k.stringValue : "." + k.stringValue
                }
            }
            return out
        }
        switch error {
        case .typeMismatch(let type, let ctx), .valueNotFound(let type, let ctx):
            let field = path(ctx.codingPath)
            let got = valueText(at: ctx.codingPath, in: tree)
            return ModelError(file: file, field: field, problem: "must be \(typeWord(type)), got \(got)")
        case .keyNotFound(let key, let ctx):
            let field = path(ctx.codingPath + [key])
            return ModelError(file: file, field: field, problem: "is missing")
        case .dataCorrupted(let ctx):
            let field = path(ctx.codingPath)
            guard !field.isEmpty else {
                return ModelError(file: file, field: nil, problem: "holds a value that cannot be decoded")
            }
            let got = valueText(at: ctx.codingPath, in: tree)
            let what: String
            if field.hasPrefix("ports") || field.hasSuffix("port") {
                what = "a port number 1-65535"
            } else if field.hasPrefix("severities.") {
                what = "one of " + Severity.allCases.map(\.rawValue).joined(separator: ", ")
            } else {
                what = "a valid value"
            }
            return ModelError(file: file, field: field, problem: "must be \(what), got \(got)")
        @unknown default:
            return ModelError(file: file, field: nil, problem: "could not be decoded")
        }
    }

    /// Port numbers are checked before decoding, because an out-of-range number loses its field path there.
    private static func checkPorts(_ tree: [String: Any], file: String) throws(ModelError) {
        func check(_ value: Any, _ field: String) throws(ModelError) {
            guard let n = value as? NSNumber, !(value is Bool) else { return }
            let d = n.doubleValue
            guard d.rounded() == d, d >= 1, d <= 65_535 else {
                throw ModelError(file: file, field: field,
                                 problem: "must be a port number 1-65535, got \(jsonText(value))")
            }
        }
        if let ports = tree["ports"] as? [String: Any] {
            for (key, list) in ports.sorted(by: { $0.key < $1.key }) {
                for (i, v) in (list as? [Any] ?? []).enumerated() { try check(v, "ports.\(key)[\(i)]") }
            }
        }
        for (i, s) in (tree["servers"] as? [Any] ?? []).enumerated() {
            if let port = (s as? [String: Any])?["port"] { try check(port, "servers[\(i)].port") }
        }
    }

    /// Whole-number fields are checked before decoding too: a number past `Int64` (`2^64`) fails
    /// there without its field path. Sizes may reach `maxCount`, counts and priorities `Int32.max`.
    private static func checkWholeNumbers(_ tree: [String: Any], file: String) throws(ModelError) {
        func check(_ value: Any?, _ field: String, most: Int64 = Int64(Int32.max)) throws(ModelError) {
            guard let value, let n = value as? NSNumber, !(value is Bool) else { return }
            let d = n.doubleValue
            guard d.isFinite, d.rounded() == d else {
                throw ModelError(file: file, field: field, problem: "must be a whole number, got \(jsonText(value))")
            }
            guard abs(d) <= Double(most) else {
                throw ModelError(file: file, field: field,
                                 problem: "must be a whole number of at most \(most), got \(jsonText(value))")
            }
        }
        for (key, value) in (tree["sizes"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            try check(value, "sizes.\(key)", most: maxCount)
        }
        try check((tree["tls"] as? [String: Any])?["uploadMinBytes"], "tls.uploadMinBytes", most: maxCount)
        try check((tree["interval"] as? [String: Any])?["mismatchMinIntervals"], "interval.mismatchMinIntervals")
        try check((tree["interval"] as? [String: Any])?["silentMinIntervals"], "interval.silentMinIntervals")
        try check((tree["checkIn"] as? [String: Any])?["inferPeriodicMinIntervals"],
                  "checkIn.inferPeriodicMinIntervals")
        for (i, s) in (tree["servers"] as? [Any] ?? []).enumerated() {
            try check((s as? [String: Any])?["priority"], "servers[\(i)].priority")
        }
        for (i, s) in (tree["steps"] as? [Any] ?? []).enumerated() {
            try check((s as? [String: Any])?["number"], "steps[\(i)].number")
        }
    }

    private static func typeWord(_ type: Any.Type) -> String {
        let name = String(describing: type)
        if name.contains("UInt16") { return "a port number 1-65535" }
        if name.contains("Int") { return "a whole number" }
        if name.contains("Double") { return "a number" }
        if name.contains("Bool") { return "true or false" }
        if name.contains("String") { return "a string" }
        if name.contains("Array") { return "a list" }
        if name.contains("Severity") { return "one of info, warning, error" }
        return "an object"
    }

    private static func valueText(at keys: [CodingKey], in tree: [String: Any]) -> String {
        var node: Any = tree
        for k in keys {
            if let i = k.intValue, let a = node as? [Any], i >= 0, i < a.count {
                node = a[i]
            } else if let d = node as? [String: Any], let v = d[k.stringValue] {
                node = v
            } else {
                return "nothing"
            }
        }
        return jsonText(node)
    }

    /// Rejects keys the built-in model does not have. Arrays of objects are checked against
    /// the keys of the built-in array's first element; `severities` keys must be finding codes.
    private static func checkKnownFields(
        _ user: [String: Any], against base: [String: Any], path: String, file: String
    ) throws(ModelError) {
        for (key, value) in user.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("_") {
            let field = path.isEmpty ? key : path + "." + key
            if path == "severities" {
                guard FindingCode(rawValue: key) != nil else {
                    throw ModelError(file: file, field: field, problem: "is not a finding code")
                }
                continue
            }
            if path == "http.statusMeanings" { continue }
            guard let baseValue = base[key] else {
                throw ModelError(file: file, field: field, problem: "is not a model field")
            }
            if let sub = value as? [String: Any], let baseSub = baseValue as? [String: Any] {
                try checkKnownFields(sub, against: baseSub, path: field, file: file)
            } else if let list = value as? [Any] {
                let template = (baseValue as? [Any])?.first as? [String: Any]
                    ?? (key == "servers" ? ["host": 0, "port": 0, "priority": 0, "origin": 0] : nil)
                guard let template else { continue }
                for (i, element) in list.enumerated() {
                    guard let object = element as? [String: Any] else { continue }
                    try checkKnownFields(object, against: template, path: "\(field)[\(i)]", file: file)
                }
            }
        }
    }

    /// Objects merge key by key; any other value from `user` replaces the base value.
    private static func merge(_ user: [String: Any], over base: [String: Any]) -> [String: Any] {
        var out = base
        for (key, value) in user where !key.hasPrefix("_") {
            if let sub = value as? [String: Any], let baseSub = base[key] as? [String: Any] {
                out[key] = merge(sub, over: baseSub)
            } else {
                out[key] = value
            }
        }
        return out
    }

    private static func jsonText(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]),
              let text = String(data: data, encoding: .utf8) else { return "an unreadable value" }
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }

    private static func jsonErrorText(_ error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return "syntax error"
    }
}
