import CurlHTTP
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
import TiplineProviders
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

    /// Two instances on one fresh database, with `count` acknowledgements queued to numbers starting `prefix`.
    static func twoInstances(queued count: Int, to prefix: String, at now: Date) async throws -> (AppDatabase, AppDatabase) {
        let url = try await sharedDatabase()
        let a = try await AppDatabase.open(postgres: try PostgresLocation(url: url))
        let b = try await AppDatabase.open(postgres: try PostgresLocation(url: url))
        _ = try await a.write { store in
            for index in 0..<count {
                var message = OutboundMessage(channel: "sms", recipient: prefix + String(format: "%02d", index), body: "ack \(index)",
                                              purpose: .acknowledgement, reportNumber: nil, at: now)
                try store.enqueue(&message)
            }
        }
        return (a, b)
    }

    @Test("outbox claims: two instances never take one message; a dead instance's claims are taken again when their lease runs out")
    func claimsAndLeases() async throws {
        let now = Date()
        let (a, b) = try await Self.twoInstances(queued: 40, to: "+849000001", at: now)
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
        // A was slow, not dead: its late outcome does not land over B's claim; B's does.
        let late = try #require(claimedA.first), again = try #require(retaken.first { $0.id == late.id })
        #expect(late.claimToken != nil && late.claimToken != again.claimToken)
        try await a.recordSendOutcomes([.init(id: late.id!, state: .failed, providerMessageID: nil, error: "late", nextAttemptAt: nil, claim: late.claimToken)], now: now)
        #expect(try await b.sqlRead { session in try session.value("SELECT state FROM outbox WHERE id = ?", late.id).string } == "sending")
        try await b.recordSendOutcomes([.init(id: again.id!, state: .sent, providerMessageID: "SMagain", error: nil, nextAttemptAt: nil, claim: again.claimToken)], now: now)
        #expect(try await b.sqlRead { session in try session.value("SELECT state FROM outbox WHERE id = ?", late.id).string } == "sent")
        await a.close()
        await b.close()
    }

    @Test("a channel's rate limit holds for the whole cluster: claims book slots in the database, not in each instance")
    func sharedRateLimit() async throws {
        let now = Date()
        let (a, b) = try await Self.twoInstances(queued: 30, to: "+849000002", at: now)
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
                                async let one = Self.deliver(client, port: ports[0], sid: sid, from: from, body: body)
                                async let two = Self.deliver(client, port: ports[1], sid: sid, from: from, body: body)
                                return [try await one, try await two]
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

    @Test("PostgreSQL stopped for 10 s under load: webhooks answer 503 while it is down, readiness goes false, nothing is lost")
    func databaseOutage() async throws {
        // A cluster of this test's own, to stop and start without disturbing the others.
        try await Self.withOwnCluster { folder, port, url in
            try await databaseOutage(url: url + "?sslmode=disable", folder: folder, port: port)
        }
    }

    /// A PostgreSQL cluster of the test's own (to stop, restart, or run with TLS on) in a temporary folder: `body`
    /// gets its folder, port and URL; the cluster is stopped and removed after, however `body` ends.
    static func withOwnCluster(tls: Bool = false, _ body: (URL, Int, String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-cluster-\(UUID().uuidString)")
        let port = try TestPorts.unused()
        do {
            let url = try await script(["postgres", "start", folder.path, "\(port)"], environment: tls ? ["POSTGRES_TLS": "1"] : [:])
            try await body(folder, port, url.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            _ = try? await script(["postgres", "stop", folder.path])
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        _ = try? await script(["postgres", "stop", folder.path])
        try? FileManager.default.removeItem(at: folder)
    }

    private func databaseOutage(url: String, folder: URL, port: Int) async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort, extra: TestDeployment.ussdChannel, environment: ["TIPLINE_DATABASE_URL": url])
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            try await runTipline(runtime) { tiplinePort in
                let statuses = Locked<[Int: Int]>([:])
                // The second half is posted only once PostgreSQL has stopped: the outage is met however fast the first goes.
                let stopped = Locked(false)
                // A provider: each message posted until it is answered 200, a retry 100 ms after anything else.
                let load = Task {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for worker in 0..<4 {
                            group.addTask {
                                let deadline = ContinuousClock.now + .seconds(90)
                                for index in stride(from: worker, to: 240, by: 4) {
                                    while index >= 120, !stopped.withLock({ $0 }), ContinuousClock.now < deadline {
                                        try await Task.sleep(for: .milliseconds(20))
                                    }
                                    while ContinuousClock.now < deadline {
                                        let response = try? await postSMS(client, port: tiplinePort, sid: "SMdown\(index)",
                                                                          from: "+8492\(String(format: "%07d", index))", body: "TRE Lan 14t nu xa Lung Cu di HCM")
                                        let status = response?.status ?? 0
                                        statuses.withLock { $0[status, default: 0] += 1 }
                                        if status == 200 { break }
                                        try await Task.sleep(for: .milliseconds(100))
                                    }
                                    try await Task.sleep(for: .milliseconds(40))
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                try await Task.sleep(for: .seconds(1))
                _ = try await Self.script(["postgres", "stop", folder.path])
                stopped.withLock { $0 = true }
                try await Task.sleep(for: .seconds(2))
                #expect(await runtime.database.isWritable() == false, "readiness goes false")
                // A USSD caller meets the outage too: 503 with its reason, not a 500.
                let form = FormBody.encode([("sessionId", "ATUid_down"), ("serviceCode", "*123#"), ("phoneNumber", "+84900000552"), ("text", "")])
                let dial = try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(tiplinePort)/channels/ussd/ussd",
                                                                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)))
                #expect(dial.status == 503 && dial.bodyText.contains("unavailable"), "\(dial.status) \(dial.bodyText)")
                try await Task.sleep(for: .seconds(8))
                _ = try await Self.script(["postgres", "start", folder.path, "\(port)"])
                try await load.value
                let answered = statuses.withLock { $0 }
                #expect(Set(answered.keys).isSubset(of: [200, 503]), "only 200 and 503: \(answered)")
                #expect(answered[503, default: 0] > 0, "the outage was met: \(answered)")
                #expect(answered[200] == 240)
                #expect(await runtime.database.isWritable())
                let (inbound, acknowledged) = try await runtime.database.sqlRead { session in
                    (try session.value("SELECT COUNT(*) FROM inbound_message").int,
                     try session.value("SELECT COUNT(DISTINCT recipient_index) FROM outbox WHERE purpose = 'acknowledgement'").int)
                }
                #expect(inbound == 240 && acknowledged == 240, "every message stored once and acknowledged")
            }
        }
    }

    @Test("a USSD caller's steps, a staff sign-in and the sign-in throttle hold across instances: no sticky sessions needed")
    func sharedSessions() async throws {
        let url = try await Self.sharedDatabase()
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let first = try await TestDeployment(providerPort: providerPort, extra: TestDeployment.ussdChannel, environment: ["TIPLINE_DATABASE_URL": url])
            let second = try await TestDeployment(providerPort: providerPort, extra: TestDeployment.ussdChannel, environment: ["TIPLINE_DATABASE_URL": url])
            defer { first.remove(); second.remove() }
            let runtimes = (try await first.runtime(), try await second.runtime())
            for name in ["desk-a", "desk-c"] {
                try await runtimes.0.database.insertUser(name: name, role: .hotline, officerID: nil,
                                                         passwordHash: try StaffAuth.hash(password: "a long test password", cost: .testing), now: Date())
            }
            try await runTipline(runtimes.0) { portA in
                try await runTipline(runtimes.1) { portB in
                    let client = CurlClient()
                    func post(_ port: Int, _ path: String, _ form: [(String, String)], cookie: String? = nil) async throws -> CurlResponse {
                        try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)\(path)",
                                                             headers: [("Content-Type", "application/x-www-form-urlencoded")] + (cookie.map { [("Cookie", $0)] } ?? []),
                                                             body: Array(FormBody.encode(form).utf8)))
                    }
                    // A USSD report, each step to the other instance.
                    let steps = ["", "2", "2*lung c", "2*lung c*1", "2*lung c*1*co nguoi la dua be di"]
                    var answers: [String] = []
                    for (index, text) in steps.enumerated() {
                        let answer = try await post(index % 2 == 0 ? portA : portB, "/channels/ussd/ussd",
                                                    [("sessionId", "ATUid_cluster"), ("serviceCode", "*123#"), ("phoneNumber", "+84900000553"), ("text", text)])
                        answers.append(answer.bodyText)
                    }
                    #expect(answers.dropLast().allSatisfy { $0.hasPrefix("CON ") } && answers.last?.hasPrefix("END Da nhan tin KHAN so 1001") == true,
                            "\(answers)")
                    // One session row carried from step to step, and one report (not a replay per instance).
                    let (sessions, reports) = try await runtimes.1.database.sqlRead { session in
                        (try session.value("SELECT COUNT(*) FROM ussd_session WHERE session_id = 'ATUid_cluster'").int,
                         try session.value("SELECT COUNT(*) FROM report").int)
                    }
                    #expect(sessions == 1 && reports == 1)
                    // A sign-in form from one instance, sent to the other; the session then good on the first.
                    func signIn(_ name: String, _ password: String, form formPort: Int, post postPort: Int) async throws -> CurlResponse {
                        let page = try await client.execute(CurlRequest(method: "GET", url: "http://127.0.0.1:\(formPort)/login"))
                        let token = try #require(page.headers.first { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix("tipline_login=") }?
                            .value.dropFirst("tipline_login=".count).prefix { $0 != ";" })
                        return try await post(postPort, "/login", [("csrf", String(token)), ("name", name), ("password", password), ("next", "/")],
                                              cookie: "tipline_login=\(token)")
                    }
                    let signedIn = try await signIn("desk-a", "a long test password", form: portA, post: portB)
                    #expect(signedIn.status == 303, "\(signedIn.status) \(signedIn.bodyText.prefix(300))")
                    let session = try #require(signedIn.headers.first { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix("tipline_session=") }?
                        .value.prefix { $0 != ";" })
                    let page = try await client.execute(CurlRequest(method: "GET", url: "http://127.0.0.1:\(portA)/", headers: [("Cookie", String(session))]))
                    #expect(page.status == 200 && page.bodyText.contains("desk-a"), "signed in on B, known on A: \(page.status)")
                    // Three wrong passwords spread over both instances: the fourth try waits, on either, even with the right one.
                    for port in [portA, portB, portA] {
                        #expect(try await signIn("desk-c", "wrong", form: port, post: port).status == 401)
                    }
                    #expect(try await signIn("desk-c", "a long test password", form: portB, post: portB).status == 401, "throttled across the cluster")
                    let throttled = try await runtimes.0.database.auditLog(limit: 50).filter { $0.action == "sign_in_failed" }
                    #expect(throttled.count == 4 && throttled.filter { $0.detail?.contains("throttled=yes") == true }.count == 1,
                            "three wrong passwords, then the right one refused as throttled: \(throttled.map { $0.detail ?? "" })")
                }
            }
        }
    }

    @Test("kill -9 of one of two instances during 2,000 messages: every message answered 200 is stored and acknowledged")
    func killedInstance() async throws {
        let url = try await Self.sharedDatabase()
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            // A short send timeout: the killed instance's claims run out (6 × 2 s + 5 s) within the test. (1 s made a
            // fake answering late on a loaded machine look like a failure, and its retry a duplicate.)
            let deployment = try await TestDeployment(providerPort: providerPort, environment: ["TIPLINE_DATABASE_URL": url], sendTimeout: 2)
            defer { deployment.remove() }
            let ports = [try TestPorts.unused(), try TestPorts.unused()]
            let servers = try ports.map { port in try Self.serve(deployment, port: port) }
            defer { for server in servers where server.isRunning { server.terminate() } }
            let victim = servers[0].processIdentifier
            for port in ports { try await Self.waitUntilLive(port) }
            let answered = Locked<Set<Int>>([])
            let killed = Locked(false)
            // A load balancer: each message to one instance, to the other when that one does not answer.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: 2_000, by: 8) {
                            var target = index % 2
                            for _ in 0..<20 {
                                let port = killed.withLock { $0 } ? ports[1] : ports[target]
                                let response = try? await postSMS(client, port: port, sid: "SMkill\(index)",
                                                                  from: "+8493\(String(format: "%07d", index))", body: "TRE Lan 14t nu xa Lung Cu di HCM")
                                if response?.status == 200 {
                                    answered.withLock { _ = $0.insert(index) }
                                    break
                                }
                                target = 1 - target
                                try await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                }
                group.addTask {
                    while answered.withLock({ $0.count }) < 600 { try await Task.sleep(for: .milliseconds(10)) }
                    kill(victim, SIGKILL)
                    killed.withLock { $0 = true }
                }
                try await group.waitForAll()
            }
            await Subprocess.waitForExit(servers[0])
            #expect(servers[0].terminationReason == .uncaughtSignal)
            let database = try await AppDatabase.open(postgres: try PostgresLocation(url: url), cipher: try deployment.load().settings.cipher)
            // The survivor sends what it queued and, once their leases run out, what the killed one had claimed.
            let deadline = ContinuousClock.now + .seconds(90)
            var waiting = -1
            while ContinuousClock.now < deadline {
                waiting = try await database.sqlRead { session in
                    try session.value("SELECT COUNT(*) FROM outbox WHERE purpose = 'acknowledgement' AND state IN ('queued', 'sending')").int ?? -1
                }
                if waiting == 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            servers[1].terminate()
            await Subprocess.waitForExit(servers[1])
            let numbers = answered.withLock { $0 }
            let stored = try await database.sqlRead { session in
                Set(try session.rows("SELECT provider_message_id FROM inbound_message").compactMap { $0[0].string })
            }
            let lost = numbers.filter { !stored.contains("SMkill\($0)") }
            #expect(numbers.count == 2_000 && lost.isEmpty, "answered \(numbers.count), lost \(lost.count)")
            #expect(waiting == 0, "every acknowledgement left")
            let acknowledgements = fake.received.filter { $0.to.hasPrefix("+8493") }
            let reporters = Set(acknowledgements.map(\.to))
            let duplicates = acknowledgements.count - reporters.count
            print("kill -9 under load: \(numbers.count) answered 200, \(stored.count) stored, \(reporters.count) reporters acknowledged, "
                  + "\(duplicates) acknowledgements sent twice (in flight at the kill)")
            #expect(reporters.count == 2_000, "every reporter acknowledged")
            #expect(duplicates <= 64, "duplicates only for sends in flight at the kill (the dispatcher's concurrency × its claim)")
            await database.close()
        }
    }

    @Test("sslmode as libpq reads it: verify-full checks the certificate and the name, verify-ca the certificate, against sslrootcert; require encrypts")
    func tlsModes() async throws {
        // A cluster of this test's own, with TLS on and a certificate for "localhost" from a throwaway CA.
        try await Self.withOwnCluster(tls: true) { (folder: URL, port: Int, _: String) async throws in
            let ca = folder.appendingPathComponent("tls/ca.crt").path
            func encrypted(_ url: String) async throws -> Bool {
                let backend = PostgresBackend(try PostgresLocation(url: url))
                defer { Task { await backend.close() } }
                return try await backend.read { session in
                    try session.value("SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()").int == 1
                }
            }
            #expect(try await encrypted("postgresql://tipline@localhost:\(port)/tipline?sslmode=verify-full&sslrootcert=\(ca)"))
            #expect(try await encrypted("postgresql://tipline@127.0.0.1:\(port)/tipline?sslmode=verify-ca&sslrootcert=\(ca)"), "the chain, not the name")
            #expect(try await encrypted("postgresql://tipline@127.0.0.1:\(port)/tipline?sslmode=require"), "encrypted, unchecked")
            #expect(try await encrypted("postgresql://tipline@127.0.0.1:\(port)/tipline?sslmode=disable") == false)
            // Refused by the certificate check itself, not by a timeout or a refused connection.
            await #expect { _ = try await encrypted("postgresql://tipline@127.0.0.1:\(port)/tipline?sslmode=verify-full&sslrootcert=\(ca)") }
                throws: { "\($0)".lowercased().contains("certificate") || "\($0)".lowercased().contains("hostname") }
            await #expect { _ = try await encrypted("postgresql://tipline@localhost:\(port)/tipline?sslmode=verify-full") }
                throws: { "\($0)".lowercased().contains("certificate") }
            #expect(throws: PostgresLocation.Invalid.self) { try PostgresLocation(url: "postgresql://tipline@localhost/tipline?sslmode=require&sslrootcert=\(ca)") }
            #expect(throws: PostgresLocation.Invalid.self) { try PostgresLocation(url: "postgresql://tipline@localhost/tipline?sslmode=verify-full&sslrootcert=/nowhere.pem") }
            #expect(throws: PostgresLocation.Invalid.self, "verify-ca against the public authorities would take anyone's certificate") {
                try PostgresLocation(url: "postgresql://tipline@127.0.0.1/tipline?sslmode=verify-ca")
            }
        }
    }

    @Test("tipline check-config reaches the PostgreSQL database: the schema's state when it answers, the reason and exit 74 when it cannot be reached, 78 when it refuses")
    func checkConfigReachesDatabase() async throws {
        let url = try await Self.sharedDatabase()
        let deployment = try await TestDeployment(providerPort: 1, environment: ["TIPLINE_DATABASE_URL": url])
        defer { deployment.remove() }
        let tipline = TestDeployment.packageRoot.appendingPathComponent(".build/debug/tipline")
        func checkConfig(_ url: String) async throws -> Subprocess.Finished {
            try await Subprocess.run(tipline, ["check-config", "--config", deployment.configPath],
                                     environment: ProcessInfo.processInfo.environment.merging(deployment.environment) { $1 }
                                         .merging(["TIPLINE_DATABASE_URL": url]) { $1 })
        }
        let empty = try await checkConfig(url)
        #expect(empty.status == 0 && empty.output.contains("first instance to start creates the schema"), "\(empty.output)")
        let database = try await AppDatabase.open(postgres: try PostgresLocation(url: url))
        await database.close()
        let current = try await checkConfig(url)
        #expect(current.status == 0 && current.output.contains("schema up to date"), "\(current.output)")
        var wrongUser = try #require(URLComponents(string: url))
        wrongUser.user = "nobody"
        let refused = try await checkConfig(try #require(wrongUser.string))
        #expect(refused.status == 78 && refused.output.contains("role \"nobody\" does not exist"), "\(refused.output)")
        #expect(!refused.output.contains("password"), "no password shown")
        let unreachable = try await checkConfig("postgresql://tipline@127.0.0.1:1/tipline?sslmode=disable")
        #expect(unreachable.status == 74 && unreachable.output.contains("Connection refused"), "an outage, as serve exits: \(unreachable.output)")
    }

    @Test("tipline migrate-to-postgres copies a SQLite deployment row for row, counts both sides, and refuses a database in use")
    func migrateToPostgres() async throws {
        // A deployment on its SQLite file, with cases, replies, alerts and timelines.
        let deployment = try await TestDeployment(providerPort: 1, environment: ["TIPLINE_DATABASE_URL": ""])
        defer { deployment.remove() }
        let runtime = try await deployment.runtime()
        #expect(runtime.database.dialect == .sqlite)
        for index in 0..<25 {
            _ = try await runtime.intake.receive(InboundSMS(providerMessageID: "SMmove\(index)", from: "+8494\(String(format: "%07d", index))", to: nil,
                                                            text: index % 5 == 0 ? "KHAN be gai 12t xa Lung Cu" : "TRE Lan 14t nu xa Lung Cu di HCM"),
                                                 channel: "sms")
        }
        let before = try #require(try await runtime.database.report(number: 1001))
        let url = try await Self.sharedDatabase()
        let run = { () async throws -> (Int32, String) in
            let run = try await Subprocess.run(TestDeployment.packageRoot.appendingPathComponent(".build/debug/tipline"),
                                               ["migrate-to-postgres", "--from", deployment.databasePath, "--config", deployment.configPath],
                                               environment: ProcessInfo.processInfo.environment.merging(deployment.environment) { $1 }
                                                   .merging(["TIPLINE_DATABASE_URL": url]) { $1 })
            return (run.status, run.output)
        }
        let (status, text) = try await run()
        #expect(status == 0 && text.contains("every count matches") && text.contains("report_event"), "\(text)")
        let moved = try await AppDatabase.open(postgres: try PostgresLocation(url: url), cipher: try deployment.load().settings.cipher)
        #expect(try await moved.reportCount() == 25)
        let after = try #require(try await moved.report(number: 1001))
        #expect(after.text == before.text && after.reporter == before.reporter && after.parsed == before.parsed
                && abs(after.receivedAt.timeIntervalSince(before.receivedAt)) < 0.001)
        #expect(try await moved.timeline(number: 1001).map(\.kind) == (try await runtime.database.timeline(number: 1001)).map(\.kind))
        let next = try await moved.write { store in
            var report = Report(parsed: before.parsed, channel: "sms", reporter: "+84940000099", text: "TRE Mai", receivedAt: Date())
            try store.insert(&report)
            return report.number
        }
        #expect(next == 1026, "numbers continue after the copied ones")
        let (again, refusal) = try await run()
        #expect(again != 0 && refusal.contains("already holds data"), "\(refusal)")
        await moved.close()
    }

    /// A provider's delivery: posted again, with the same id, when no answer came in its timeout (the suite's
    /// PostgreSQL pass shares two cores among every test). The answer's status.
    static func deliver(_ client: CurlClient, port: Int, sid: String, from: String, body: String) async throws -> Int {
        for _ in 0..<4 {
            if let response = try? await postSMS(client, port: port, sid: sid, from: from, body: body) { return response.status }
        }
        return try await postSMS(client, port: port, sid: sid, from: from, body: body).status
    }

    /// Runs a script of this package (`scripts/NAME`); its output, or an error with it.
    static func script(_ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        let run = try await Subprocess.run(TestDeployment.packageRoot.appendingPathComponent("scripts/\(arguments[0])"), Array(arguments.dropFirst()),
                                           environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        guard run.status == 0 else { throw SQLError("scripts/\(arguments.joined(separator: " ")) failed: \(run.output)") }
        return run.output
    }

    /// `tipline serve` for a deployment, on a port of its own, in a process of its own.
    static func serve(_ deployment: TestDeployment, port: Int) throws -> Process {
        let process = Process()
        process.executableURL = TestDeployment.packageRoot.appendingPathComponent(".build/debug/tipline")
        process.arguments = ["serve", "--config", deployment.configPath, "--log-level", "error"]
        process.environment = ProcessInfo.processInfo.environment.merging(deployment.environment) { $1 }.merging(["TIPLINE_SERVER_PORT": "\(port)"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitUntilLive(_ port: Int) async throws {
        let client = CurlClient()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let response = try? await client.execute(CurlRequest(method: "GET", url: "http://127.0.0.1:\(port)/health/live")), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw SQLError("tipline serve did not come up on port \(port)")
    }
}

/// A value shared by a test's tasks, behind a lock.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
