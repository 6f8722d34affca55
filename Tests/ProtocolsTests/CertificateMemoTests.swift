@testable import Protocols
import Records
import Testing
import TestSupport

@Suite struct CertificateMemoTests {
    private let fixtures = [
        X509Fixtures.rsa2048SelfSigned, X509Fixtures.ecP256SelfSigned, X509Fixtures.ecP384Authority,
    ]

    private func parsed(_ der: [UInt8]) -> CertificateSummary? {
        der.withUnsafeBytes { X509.parse(der: $0) }
    }

    @Test func repeatedCertificatesGiveWhatReadingThemGives() {
        for _ in 0..<3 {
            for der in fixtures {
                #expect(X509.summary(der: der) == parsed(der))
            }
        }
    }

    @Test func aChangedByteIsNotTakenForTheKeptCertificate() {
        for der in fixtures {
            _ = X509.summary(der: der)
            for at in stride(from: 0, to: der.count, by: max(1, der.count / 40)) {
                var changed = der
                changed[at] ^= 0x01
                #expect(X509.summary(der: changed) == parsed(changed))
            }
        }
    }

    @Test func moreCertificatesThanTheMemoHoldsStillReadRight() {
        let base = X509Fixtures.ecP256SelfSigned
        let variants = (0..<(CertificateMemo.capacity * 2)).map { i -> [UInt8] in
            var der = base
            der[der.count - 1 - i % 16] ^= UInt8(truncatingIfNeeded: i + 1)
            return der
        }
        for _ in 0..<2 {
            for der in variants { #expect(X509.summary(der: der) == parsed(der)) }
        }
    }

    @Test func fingerprintAndComparisonReadEveryByte() {
        let a: [UInt8] = Array(0..<21)
        var b = a
        b[20] = 99
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                #expect(CertificateMemo.fingerprint(x) != CertificateMemo.fingerprint(y))
                #expect(!CertificateMemo.same(x, y))
                #expect(CertificateMemo.same(x, x))
            }
        }
    }
}
