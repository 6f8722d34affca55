import Core
import Protocols
import Records
import Testing
import TestSupport

@Suite struct X509Tests {
    private func time(_ text: String) -> Timestamp? { Timestamp(rfc3339: text) }

    @Test func rsaSelfSigned() throws {
        let s = try #require(X509.summary(der: X509Fixtures.rsa2048SelfSigned))
        #expect(s.subjectCommonName == "rsa.sepbeat.test")
        #expect(s.issuerCommonName == "rsa.sepbeat.test")
        #expect(s.selfSigned)
        #expect(s.keyType == "RSA")
        #expect(s.keyBits == 2048)
        #expect(s.signatureAlgorithm == "sha256WithRSAEncryption")
        #expect(s.notBefore == time("2026-12-04T16:57:01Z"))
        #expect(s.notAfter == time("2027-12-04T16:57:01Z"))
    }

    @Test func ecP256SelfSigned() throws {
        let s = try #require(X509.summary(der: X509Fixtures.ecP256SelfSigned))
        #expect(s.subjectCommonName == "ec256.sepbeat.test")
        #expect(s.selfSigned)
        #expect(s.keyType == "EC")
        #expect(s.keyBits == 256)
        #expect(s.signatureAlgorithm == "ecdsa-with-SHA256")
        #expect(s.notAfter == time("2027-01-03T16:57:01Z"))
    }

    @Test func ecP384Authority() throws {
        let s = try #require(X509.summary(der: X509Fixtures.ecP384Authority))
        #expect(s.subjectCommonName == "sepbeat Test CA")
        #expect(s.selfSigned)
        #expect(s.keyBits == 384)
        #expect(s.signatureAlgorithm == "ecdsa-with-SHA384")
        #expect(s.notAfter == time("2036-12-01T16:57:01Z"))
    }

    @Test func issuedLeafIsNotSelfSignedAndUsesGeneralizedTime() throws {
        let s = try #require(X509.summary(der: X509Fixtures.ecP521Leaf))
        #expect(s.subjectCommonName == "leaf.sepbeat.test")
        #expect(s.issuerCommonName == "sepbeat Test CA")
        #expect(!s.selfSigned)
        #expect(s.keyType == "EC")
        #expect(s.keyBits == 521)
        #expect(s.signatureAlgorithm == "ecdsa-with-SHA384")
        #expect(s.notBefore == time("2026-12-04T16:57:01Z"))
        #expect(s.notAfter == time("2081-09-06T16:57:01Z"))  // after 2049: GeneralizedTime
    }

    @Test func ed25519() throws {
        let s = try #require(X509.summary(der: X509Fixtures.ed25519SelfSigned))
        #expect(s.subjectCommonName == "ed25519.sepbeat.test")
        #expect(s.keyType == "Ed25519")
        #expect(s.keyBits == 256)
        #expect(s.signatureAlgorithm == "Ed25519")
    }

    @Test func unknownSignatureOIDIsShownDotted() throws {
        // Replace the last arc of the outer ecdsa-with-SHA256 OID (2a 86 48 ce 3d 04 03 02) with 0x09.
        var der = X509Fixtures.ecP256SelfSigned
        let oid: [UInt8] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]
        let last = try #require(lastIndex(of: oid, in: der))
        der[last + oid.count - 1] = 0x09
        let s = try #require(X509.summary(der: der))
        #expect(s.signatureAlgorithm == "1.2.840.10045.4.3.9")
    }

    @Test func everyTruncationIsSafe() {
        for fixture in [X509Fixtures.rsa2048SelfSigned, X509Fixtures.ecP521Leaf] {
            for n in 0..<fixture.count {
                let s = X509.summary(der: Array(fixture.prefix(n)))
                #expect(s == nil, "prefix \(n) should not parse as a whole certificate")
            }
        }
    }

    @Test func randomMutationsNeverTrap() {
        var rng = SplitMix64(seed: 0x5e9b_ea71)
        var parsed = 0
        for fixture in [X509Fixtures.rsa2048SelfSigned, X509Fixtures.ecP256SelfSigned, X509Fixtures.ecP521Leaf] {
            for _ in 0..<1500 {
                var der = fixture
                for _ in 0..<Int(rng.next() % 4 + 1) {
                    der[Int(rng.next() % UInt64(der.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if X509.summary(der: der) != nil { parsed += 1 }
            }
        }
        #expect(parsed > 0)  // many single-byte changes leave the structure intact
    }

    private func lastIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        var i = hay.count - needle.count
        while i >= 0 {
            if Array(hay[i..<(i + needle.count)]) == needle { return i }
            i -= 1
        }
        return nil
    }
}

