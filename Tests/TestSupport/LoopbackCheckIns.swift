import Foundation

#if canImport(Glibc)
import Glibc

/// Plain-HTTP check-ins over the loopback interface, for tests of live capture: a small server on
/// `serverAddress` (127.0.0.3) at a port the system picks, and clients from `clientAddress`
/// (127.0.0.2) that each open a connection, send one `GET /secars/secars.dll?...` with
/// `User-Agent: Smc`, read the answer and close. Nothing leaves the machine.
public final class LoopbackCheckIns: @unchecked Sendable {
    public static let serverAddress = "127.0.0.3"
    public static let clientAddress = "127.0.0.2"

    /// The server's port.
    public let port: UInt16
    private let listener: Int32

    /// Starts the server; nil when no socket could be bound.
    public init?() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = LoopbackCheckIns.socketAddress(LoopbackCheckIns.serverAddress, port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            return nil
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: actual.sin_port)
        let thread = Thread { [fd] in LoopbackCheckIns.serve(fd) }
        thread.start()
    }

    deinit {
        // Ends the server thread's `accept`.
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// A BPF filter that keeps only this server's traffic.
    public var filter: String { "host \(LoopbackCheckIns.serverAddress) and tcp port \(port)" }

    /// Makes `count` check-ins one after the other, `gap` seconds apart; the number that got an answer.
    @discardableResult
    public func checkIn(count: Int, gap: Double = 0.05) -> Int {
        var answered = 0
        for i in 0..<count {
            if i > 0 { usleep(UInt32(gap * 1_000_000)) }
            if LoopbackCheckIns.oneCheckIn(port: port) { answered += 1 }
        }
        return answered
    }

    static func socketAddress(_ text: String, port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, text, &address.sin_addr)
        return address
    }

    private static func oneCheckIn(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var local = socketAddress(clientAddress, port: 0)
        var remote = socketAddress(serverAddress, port: port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
        } == 0 && withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) }
        } == 0
        guard ok else { return false }
        let request = "GET /secars/secars.dll?h=0123456789ABCDEF&l=0&action=12 HTTP/1.1\r\n"
            + "User-Agent: Smc\r\nHost: \(serverAddress):\(port)\r\n\r\n"
        guard send(fd, request, request.utf8.count) else { return false }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200")
    }

    private static func send(_ fd: Int32, _ text: String, _ count: Int) -> Bool {
        var bytes = Array(text.utf8)
        var sent = 0
        while sent < count {
            let n = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress! + sent, count - sent, 0) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Answers each connection's request with a short page, then closes it; ends when the listener is shut.
    private static func serve(_ listener: Int32) {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            var head: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: head, as: UTF8.self).contains("\r\n\r\n") {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                head += buffer[0..<n]
            }
            let body = "<html>ok</html>"
            let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            _ = send(fd, answer, answer.utf8.count)
            close(fd)
        }
    }
}
#endif
