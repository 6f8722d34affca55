import Core
import Records

/// Reads the few fields of an X.509 certificate (RFC 5280) that describe a server: names, key,
/// signature algorithm and validity. It parses DER and verifies nothing.
///
/// Every length is checked against the bytes left; a malformed certificate yields nil (structure
/// broken before the public key) or nil fields (a bad name, key or time), never a trap.
public enum X509 {
    /// Summarises a DER certificate. `der` is borrowed for the call; the result owns its strings.
    /// Cost: one pass over the certificate, a few small allocations for the strings kept; a
    /// certificate seen lately (servers send the same one on every connection) is looked up in
    /// `CertificateMemo` instead: a hash of its bytes and one comparison with the kept copy.
    public static func summary(der: UnsafeRawBufferPointer) -> CertificateSummary? {
        CertificateMemo.summary(der: der, parse: parse)
    }

    /// The summary of `der`, read from its bytes (what `CertificateMemo` keeps).
    static func parse(der: UnsafeRawBufferPointer) -> CertificateSummary? {
        var top = DERReader(der)
        guard let cert = top.next(DERReader.sequence) else { return nil }
        var outer = DERReader(cert.content)
        guard let tbs = outer.next(DERReader.sequence) else { return nil }
        let outerAlgorithm = outer.next(DERReader.sequence)

        var t = DERReader(tbs.content)
        if t.peekTag == 0xa0 { _ = t.next() }  // [0] EXPLICIT version
        guard t.next(DERReader.integer) != nil,
              let innerAlgorithm = t.next(DERReader.sequence),
              let issuer = t.next(DERReader.sequence),
              let validity = t.next(DERReader.sequence),
              let subject = t.next(DERReader.sequence),
              let spki = t.next(DERReader.sequence)
        else { return nil }

        var s = CertificateSummary()
        s.subjectCommonName = commonName(subject.content)
        s.issuerCommonName = commonName(issuer.content)
        s.selfSigned = issuer.encoded.elementsEqual(subject.encoded)
        if let alg = algorithmOID(outerAlgorithm ?? innerAlgorithm) {
            s.signatureAlgorithm = signatureNames[alg] ?? alg
        }
        var v = DERReader(validity.content)
        s.notBefore = v.next().flatMap(time)
        s.notAfter = v.next().flatMap(time)
        (s.keyType, s.keyBits) = publicKey(spki.content)
        return s
    }

    /// Convenience for tests and callers holding an array.
    public static func summary(der: [UInt8]) -> CertificateSummary? {
        der.withUnsafeBytes { summary(der: $0) }
    }

    // MARK: - Names

    static let commonNameOID = "2.5.4.3"

    /// Whether an OID's content reads `commonNameOID`. Three arcs need at least three bytes, so
    /// content of three bytes or fewer is that OID only as 55 04 03 (no text built); longer
    /// content (a non-minimal encoding) is read as text.
    static func isCommonName(_ content: UnsafeRawBufferPointer) -> Bool {
        if content.count <= 3 {
            return content.count == 3 && content[0] == 0x55 && content[1] == 0x04 && content[2] == 0x03
        }
        return DERReader.dottedOID(content) == commonNameOID
    }

    /// The first commonName attribute of a Name (SEQUENCE OF SET OF AttributeTypeAndValue).
    static func commonName(_ name: UnsafeRawBufferPointer) -> String? {
        var rdns = DERReader(name)
        while let rdn = rdns.next(DERReader.set) {
            var attributes = DERReader(rdn.content)
            while let attribute = attributes.next(DERReader.sequence) {
                var a = DERReader(attribute.content)
                guard let type = a.next(DERReader.oid), let value = a.next() else { continue }
                if isCommonName(type.content) { return directoryString(value) }
            }
        }
        return nil
    }

    /// Text of a DirectoryString-like value; invalid sequences become U+FFFD, unknown string types nil.
    static func directoryString(_ e: DERReader.Element) -> String? {
        switch e.tag {
        case 0x0c, 0x13, 0x16, 0x1a:  // UTF8String, PrintableString, IA5String, VisibleString
            return String(decoding: e.content, as: UTF8.self)
        case 0x14:  // TeletexString: read as Latin-1, as most tools do
            return String(String.UnicodeScalarView(e.content.map { Unicode.Scalar($0) }))
        case 0x1e:  // BMPString: UTF-16BE
            var units: [UInt16] = []
            var i = 0
            while e.content.count - i >= 2 {
                units.append(UInt16(e.content[i]) << 8 | UInt16(e.content[i + 1]))
                i += 2
            }
            return String(decoding: units, as: UTF16.self)
        case 0x1c:  // UniversalString: UTF-32BE
            var scalars = String.UnicodeScalarView()
            var i = 0
            while e.content.count - i >= 4 {
                var v: UInt32 = 0
                for k in 0..<4 { v = v << 8 | UInt32(e.content[i + k]) }
                scalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                i += 4
            }
            return String(scalars)
        default:
            return nil
        }
    }

    // MARK: - Algorithms and keys

    static func algorithmOID(_ algorithm: DERReader.Element) -> String? {
        var a = DERReader(algorithm.content)
        return a.next(DERReader.oid).flatMap { DERReader.dottedOID($0.content) }
    }

    /// Signature algorithm OIDs (RFC 4055, 5758, 8410) and the names OpenSSL prints for them.
    static let signatureNames: [String: String] = [
        "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10": "RSASSA-PSS",
        "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
        "1.2.840.10045.4.1": "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
        "1.2.840.10040.4.3": "dsaWithSHA1",
        "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
        "1.3.101.112": "Ed25519",
        "1.3.101.113": "Ed448",
    ]

    /// Named EC curves and their sizes in bits.
    static let curveBits: [String: Int] = [
        "1.2.840.10045.3.1.7": 256,  // prime256v1 / secp256r1
        "1.3.132.0.34": 384,  // secp384r1
        "1.3.132.0.35": 521,  // secp521r1
        "1.3.132.0.33": 224,  // secp224r1
        "1.3.132.0.10": 256,  // secp256k1
        "1.2.840.10045.3.1.1": 192,  // prime192v1
        "1.3.36.3.3.2.8.1.1.7": 256,  // brainpoolP256r1
        "1.3.36.3.3.2.8.1.1.11": 384,  // brainpoolP384r1
        "1.3.36.3.3.2.8.1.1.13": 512,  // brainpoolP512r1
    ]

    /// Key type and size from a SubjectPublicKeyInfo's content.
    static func publicKey(_ spki: UnsafeRawBufferPointer) -> (String?, Int?) {
        var r = DERReader(spki)
        guard let algorithm = r.next(DERReader.sequence) else { return (nil, nil) }
        var a = DERReader(algorithm.content)
        guard let oidElement = a.next(DERReader.oid), let oid = DERReader.dottedOID(oidElement.content) else {
            return (nil, nil)
        }
        let parameters = a.next()
        let key = r.next(DERReader.bitString)

        switch oid {
        case "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10":
            let name = oid.hasSuffix(".1") ? "RSA" : "RSA-PSS"
            return (name, key.flatMap(rsaModulusBits))
        case "1.2.840.10045.2.1":
            guard let p = parameters, p.tag == DERReader.oid, let curve = DERReader.dottedOID(p.content) else {
                return ("EC", nil)
            }
            return ("EC", curveBits[curve])
        case "1.3.101.112": return ("Ed25519", 256)
        case "1.3.101.113": return ("Ed448", 456)
        case "1.3.101.110": return ("X25519", 253)
        case "1.3.101.111": return ("X448", 448)
        case "1.2.840.10040.4.1":
            guard let p = parameters, p.tag == DERReader.sequence else { return ("DSA", nil) }
            var d = DERReader(p.content)
            return ("DSA", d.next(DERReader.integer).flatMap { DERReader.integerBits($0.content) })
        default:
            return (oid, nil)
        }
    }

    /// The modulus size of an RSAPublicKey inside the subjectPublicKey BIT STRING.
    static func rsaModulusBits(_ bitString: DERReader.Element) -> Int? {
        guard bitString.content.count > 1, bitString.content[0] == 0 else { return nil }
        var outer = DERReader(UnsafeRawBufferPointer(rebasing: bitString.content[1...]))
        guard let key = outer.next(DERReader.sequence) else { return nil }
        var k = DERReader(key.content)
        return k.next(DERReader.integer).flatMap { DERReader.integerBits($0.content) }
    }

    // MARK: - Time

    /// UTCTime `YYMMDDHHMMSSZ` (years 50-99 are 19YY) or GeneralizedTime `YYYYMMDDHHMMSS[.f]Z`.
    /// Other forms (offsets, missing seconds) give nil.
    static func time(_ e: DERReader.Element) -> Timestamp? {
        let c = e.content
        var i = 0
        while i < c.count, c[i] >= 48, c[i] <= 57 { i += 1 }
        let digitCount = i
        /// The value of `count` digits from `from` (all within the leading digits).
        func number(_ from: Int, _ count: Int) -> Int {
            var v = 0
            for k in from..<(from + count) { v = v * 10 + Int(c[k] - 48) }
            return v
        }
        let year: Int
        let rest: Int
        switch (e.tag, digitCount) {
        case (DERReader.utcTime, 12):
            let yy = number(0, 2)
            year = yy >= 50 ? 1900 + yy : 2000 + yy
            rest = 2
        case (DERReader.generalizedTime, 14):
            year = number(0, 4)
            rest = 4
            if i < c.count, c[i] == 46 {  // fraction: skipped (whole seconds are enough here)
                i += 1
                while i < c.count, c[i] >= 48, c[i] <= 57 { i += 1 }
            }
        default:
            return nil
        }
        guard c.count - i == 1, c[i] == 90 else { return nil }  // "Z"
        // YYYY-MM-DDTHH:MM:SSZ: the year has at most four digits, the other fields two.
        let text = String(unsafeUninitializedCapacity: 20) { out in
            func put(_ value: Int, width: Int, at: Int, then separator: UInt8) {
                var v = value
                for w in stride(from: width - 1, through: 0, by: -1) {
                    out[at + w] = UInt8(48 + v % 10)
                    v /= 10
                }
                out[at + width] = separator
            }
            put(year, width: 4, at: 0, then: 45)  // -
            put(number(rest, 2), width: 2, at: 5, then: 45)  // -
            put(number(rest + 2, 2), width: 2, at: 8, then: 84)  // T
            put(number(rest + 4, 2), width: 2, at: 11, then: 58)  // :
            put(number(rest + 6, 2), width: 2, at: 14, then: 58)  // :
            put(number(rest + 8, 2), width: 2, at: 17, then: 90)  // Z
            return 20
        }
        return Timestamp(rfc3339: text)
    }
}
