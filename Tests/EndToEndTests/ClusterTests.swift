import CurlHTTP
import Foundation
import Testing
import TiplineServer
@testable import TiplineStore

/// Several tipline instances on one PostgreSQL database (issue 16): run in the suite's PostgreSQL pass.
@Suite("More than one server", .enabled(if: TestBackend.isPostgres, "needs the PostgreSQL pass (TIPLINE_TEST_BACKEND=postgresql)"))
struct ClusterTests {
    let client = CurlClient()

    /// The test cluster's URL with a fresh database on it, shared by the instances a test starts.
    static func sharedDatabase() async throws -> String {
        try #require(try await PostgresBackend.scratchDatabaseForTests())
    }

    @Test("outbox claims: two instances never take one message; a dead instance's claims are taken again when their lease runs out")
    func claimsAndLeases() async throws {
        let url = try await Self.sharedDatabase()
        let a = try await AppDatabase.open(postgres: try PostgresLocation(url: url))
        let b = try await AppDatabase.open(postgres: try PostgresLocation(url: url))
        let now = Date()
        _ = try await a.write { store in
            for index in 0..<40 {
                var message = OutboundMessage(channel: "sms", recipient: "+849000001\(String(format: "%02d", index))", body: "ack \(index)",
                                              purpose: .acknowledgement, reportNumber: nil, at: now)
                try store.enqueue(&message)
            }
        }
        async let fromA = a.claimDueMessages(now: now, limit: 25, lease: 2)
        async let fromB = b.claimDueMessages(now: now, limit: 25, lease: 2)
        let (claimedA, claimedB) = try await (fromA, fromB)
        #expect(claimedA.count + claimedB.count == 40)
        #expect(Set(claimedA.compactMap(\.id)).isDisjoint(with: claimedB.compactMap(\.id)), "no message claimed twice")
        // A dies with its claims: B records its own sends and finds nothing more until A's lease runs out.
        try await b.recordSendOutcomes(claimedB.map { .init(id: $0.id!, state: .sent, providerMessageID: "SM\($0.id!)", error: nil, nextAttemptAt: nil) },
                                       now: now)
        #expect(try await b.claimDueMessages(now: now.addingTimeInterval(1), limit: 50, lease: 2).isEmpty)
        #expect(try await b.requeueInterruptedSends(now: now.addingTimeInterval(1)) == 0, "a starting instance leaves other instances' sends alone")
        let next = try #require(try await b.nextDueDate())
        #expect(abs(next.timeIntervalSince(now.addingTimeInterval(2))) < 0.01, "the dispatcher wakes when the lease runs out")
        let retaken = try await b.claimDueMessages(now: now.addingTimeInterval(2.5), limit: 50, lease: 2)
        #expect(Set(retaken.compactMap(\.id)) == Set(claimedA.compactMap(\.id)))
        #expect(retaken.allSatisfy { $0.attempts == 2 })
        await a.close()
        await b.close()
    }

    @Test("a channel's rate limit holds for the whole cluster: claims book slots in the database, not in each instance")
    func sharedRateLimit() async throws {
        let url = try await Self.sharedDatabase()
        let a = try await AppDatabase.open(postgres: try PostgresLocation(url: url))
        let b = try await AppDatabase.open(postgres: try PostgresLocation(url: url))
        let now = Date()
        _ = try await a.write { store in
            for index in 0..<30 {
                var message = OutboundMessage(channel: "sms", recipient: "+849000002\(String(format: "%02d", index))", body: "ack \(index)",
                                              purpose: .acknowledgement, reportNumber: nil, at: now)
                try store.enqueue(&message)
            }
        }
        async let fromA = a.claimDueMessages(now: now, limit: 15, segmentsPerSecond: 10)
        async let fromB = b.claimDueMessages(now: now, limit: 15, segmentsPerSecond: 10)
        let booked = try await fromA + fromB
        // 10 segments a second between them: slots 0.0, 0.1, … 1.0 s — not 11 each.
        #expect(booked.count == 11, "\(booked.count) booked")
        let offsets = booked.compactMap { $0.sendAt?.timeIntervalSince(now) }.sorted()
        #expect(offsets.count == 11 && zip(offsets, offsets.dropFirst()).allSatisfy { abs($1 - $0 - 0.1) < 0.002 }, "\(offsets)")
        let waiting = try await a.sqlRead { session in
            try session.rows("SELECT attempts, next_attempt_at FROM outbox WHERE state = 'queued'").map { ($0[0].int ?? -1, $0[1].date ?? now) }
        }
        #expect(waiting.count == 19 && waiting.allSatisfy { $0.0 == 0 && $0.1 > now.addingTimeInterval(0.99) },
                "the rest wait for their slot (a second or more away; times kept to the millisecond), attempts given back: \(waiting.map { ($0.0, $0.1.timeIntervalSince(now)) })")
        await a.close()
        await b.close()
    }

    @Test("two instances receive the same 500 messages in a random order at once: 500 reports, 500 acknowledgements")
    func sameMessagesTwice() async throws {
        let url = try await Self.sharedDatabase()
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let first = try await TestDeployment(providerPort: providerPort, environment: ["TIPLINE_DATABASE_URL": url])
            let second = try await TestDeployment(providerPort: providerPort, environment: ["TIPLINE_DATABASE_URL": url])
            defer { first.remove(); second.remove() }
            let runtimes = (try await first.runtime(), try await second.runtime())
            try await runTipline(runtimes.0) { portA in
                try await runTipline(runtimes.1) { portB in
                    let messages = (0..<500).shuffled()
                    let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                        var statuses: [Int] = []
                        var next = messages.makeIterator()
                        func add(_ index: Int) {
                            group.addTask {
                                // The same delivery at both instances at once, in a random order.
                                let sid = "SMcluster\(index)", from = "+8491\(String(format: "%07d", index))", body = "TRE Lan 14t nu xa Lung Cu di HCM"
                                let ports = Bool.random() ? [portA, portB] : [portB, portA]
                                async let one = postSMS(client, port: ports[0], sid: sid, from: from, body: body)
                                async let two = postSMS(client, port: ports[1], sid: sid, from: from, body: body)
                                return [try await one.status, try await two.status]
                            }
                        }
                        for _ in 0..<16 { if let index = next.next() { add(index) } }
                        while let answered = try await group.next() {
                            statuses += answered
                            if let index = next.next() { add(index) }
                        }
                        return statuses
                    }
                    #expect(statuses.count == 1_000 && statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
                    let (reports, inbound, acknowledged) = try await runtimes.0.database.sqlRead { session in
                        (try session.value("SELECT COUNT(*) FROM report").int,
                         try session.value("SELECT COUNT(*) FROM inbound_message").int,
                         try session.value("SELECT COUNT(DISTINCT recipient_index) FROM outbox WHERE purpose = 'acknowledgement'").int)
                    }
                    #expect(reports == 500 && inbound == 500)
                    #expect(acknowledged == 500)
                    let numbers = try await runtimes.1.database.sqlRead { session in
                        try session.rows("SELECT number FROM report ORDER BY number").compactMap { $0[0].int }
                    }
                    #expect(numbers.first == 1001 && Set(numbers).count == 500 && numbers.last! < 1001 + 600, "unique, short report numbers")
                    // Every acknowledgement leaves once: the two dispatchers share the outbox.
                    let deadline = ContinuousClock.now + .seconds(30)
                    while ContinuousClock.now < deadline {
                        let waiting = try await runtimes.0.database.sqlRead { session in
                            try session.value("SELECT COUNT(*) FROM outbox WHERE purpose = 'acknowledgement' AND state IN ('queued', 'sending')").int
                        }
                        if waiting == 0 { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    let sent = fake.received.filter { $0.to.hasPrefix("+8491") }
                    #expect(sent.count == 500 && Set(sent.map(\.to)).count == 500, "sent \(sent.count) to \(Set(sent.map(\.to)).count) reporters")
                }
            }
        }
    }
}
