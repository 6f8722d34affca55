import Foundation
import Testing
import TestSupport

/// A synthetic fleet capture with known injected faults, made by `sepbeat simulate`
/// and judged by `sepbeat audit` and `sepbeat validate` through the command line:
/// audit names exactly the clients with interval faults, and validate fails exactly
/// the checks the injected faults call for, naming exactly those clients.
@Suite struct FleetCaptureTests {
    struct Fault: Decodable {
        var client: String
        var kind: String
    }

    struct Client: Decodable {
        var address: String
        var transport: String
    }

    struct Truth: Decodable {
        var clients: [Client]
        var faults: [Fault]
    }

    @Test func auditAndValidateNameExactlyTheInjectedFaults() throws {
        let dir = NSTemporaryDirectory() + "sepbeat-fleet-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let capture = dir + "/fleet.pcap"
        let made = CLIRun(["simulate", "-q", "-o", capture, "--clients", "16", "--duration", "2h", "--seed", "3",
                           "--push-share", "0", "--fault", "missed", "--fault", "late",
                           "--fault", "old-tls", "--fault", "failover", "--fault", "http-503"])
        #expect(made.status == 0, "simulate: \(made.stderr)")
        let truthData = try #require(FileManager.default.contents(atPath: capture + ".truth.json"))
        let truth = try JSONDecoder().decode(Truth.self, from: truthData)
        func faulty(_ kind: String) -> Set<String> { Set(truth.faults.filter { $0.kind == kind }.map(\.client)) }
        #expect(truth.faults.count == 5)

        // Audit: the missed client is unhealthy, the late one degraded, every other client healthy.
        let audit = CLIRun(["audit", "-q", "-F", "json", capture])
        #expect(audit.status == 1, "an unhealthy client makes audit exit 1")
        let auditJSON = try jsonObject(audit.stdout)
        let clients = try #require(auditJSON["clients"] as? [[String: Any]])
        var health: [String: String] = [:]
        for c in clients { health[c["client"] as? String ?? "?"] = c["health"] as? String }
        #expect(health.count == truth.clients.count)
        let unhealthy = Set(health.filter { $0.value == "unhealthy" }.keys)
        let degraded = Set(health.filter { $0.value == "degraded" }.keys)
        #expect(unhealthy == faulty("missed"))
        #expect(degraded == faulty("late"))

        // Validate: exactly the checks the faults call for fail, each naming exactly the faulty clients.
        let validate = CLIRun(["validate", "-q", "-F", "json", capture])
        #expect(validate.status == 1)
        let validateJSON = try jsonObject(validate.stdout)
        #expect(validateJSON["verdict"] as? String == "fail")
        let checks = try #require(validateJSON["checks"] as? [[String: Any]])
        var failing: [String: Set<String>] = [:]
        var failingCounts: [String: Int] = [:]
        for check in checks where check["result"] as? String == "fail" {
            let id = check["id"] as? String ?? "?"
            failing[id] = Set(check["examples"] as? [String] ?? [])
            failingCounts[id] = check["failingClients"] as? Int ?? -1
        }
        let plainHTTP = Set(truth.clients.filter { $0.transport == "http" }.map(\.address))
        var expected: [String: Set<String>] = [
            "failover": faulty("failover"),
            "connectivity": faulty("failover"),
            "tls-version": faulty("old-tls"),
            "http-status": faulty("http-503"),
            "interval": faulty("missed"),
            "interval-jitter": faulty("late"),
        ]
        if !plainHTTP.isEmpty { expected["transport"] = plainHTTP }
        // Each failing check names up to three example clients and counts them all.
        #expect(Set(failing.keys) == Set(expected.keys))
        for (id, clients) in expected {
            #expect(failingCounts[id] == clients.count, "\(id) counts \(clients.count) clients")
            let examples = failing[id] ?? []
            #expect(examples.isSubset(of: clients) && examples.count == min(3, clients.count), "\(id): \(examples)")
        }
    }
}
