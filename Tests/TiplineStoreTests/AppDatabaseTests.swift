import Foundation
import GRDB
import Testing
import TiplineCore
@testable import TiplineStore

/// The store on this pass's backend (``TestBackend``): SQLite, then PostgreSQL in scripts/test's second pass.
@Suite("AppDatabase")
struct AppDatabaseTests {
    static var tip: ParsedMessage {
        var parsed = ParsedMessage(kind: .tip)
        parsed.child = .init(name: "Lan", age: 14, sex: .female)
        parsed.origin = .init(areaCode: "715", areaName: "Xã Lũng Cú")
        return parsed
    }

    @Test("a new SQLite file: WAL, synchronous FULL", .enabled(if: TestBackend.isSQLite, "the SQLite file's own settings (PRAGMA)"))
    func openFile() async throws {
        try await TestBackend.withDatabase { database in
            let (journal, synchronous) = try await database.writer.writeWithoutTransaction { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
            }
            #expect(journal == "wal")
            #expect(synchronous == 2, "FULL")
        }
    }

    @Test("a new database: every migration, report numbers from 1001, the parse round-trips")
    func newDatabase() async throws {
        try await TestBackend.withDatabase { database in
            // Each backend keeps the migrations it applied in a table of its own.
            let table = database.dialect == .sqlite ? "grdb_migrations" : "tipline_migrations"
            let applied = try await database.sqlRead { session in
                try session.rows("SELECT identifier FROM \(table)").compactMap { $0[0].string }
            }
            #expect(Set(applied) == Set(AppDatabase.knownMigrations))
            let number = try await database.write { store -> Int in
                var report = Report(parsed: Self.tip, channel: "sms", reporter: "+84912345678", text: "TRE Lan", receivedAt: Date())
                try store.insert(&report)
                return report.number!
            }
            #expect(number == 1001)
            let read = try #require(try await database.report(number: 1001))
            #expect(read.parsed == Self.tip, "the parse round-trips through its JSON column")
        }
    }

    @Test("group commit: concurrent writes share transactions; one that fails fails alone")
    func writeBatcher() async throws {
        try await TestBackend.withDatabase { database in
            let batcher = WriteBatcher(database: database)
            let results = try await withThrowingTaskGroup(of: Result<Int64, any Error>.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        do {
                            return .success(try await batcher.write { store -> Int64 in
                                if index == 50 { throw SQLError("refused") }
                                var message = InboundMessage(channel: "sms", providerMessageID: "M\(index)", sender: "+84900000001",
                                                             recipient: nil, body: "x", receivedAt: Date())
                                _ = try store.insertOnce(&message)
                                return message.id!
                            })
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var results: [Result<Int64, any Error>] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.filter { if case .success = $0 { return true }; return false }.count == 99)
            #expect(try await database.inboundCount() == 99)
        }
    }

    @Test("the outbox: claims take each message once, a crash's `sending` goes back to the queue, records only move forward")
    func outbox() async throws {
        try await TestBackend.withDatabase { database in
            let now = Date()
            try await database.write { store in
                for index in 0..<5 {
                    var message = OutboundMessage(channel: "sms", recipient: "+8490000000\(index)", body: "hi", purpose: .reply, reportNumber: nil, at: now)
                    try store.enqueue(&message)
                }
            }
            async let a = database.claimDueMessages(now: now, limit: 3)
            async let b = database.claimDueMessages(now: now, limit: 3)
            let (first, second) = try await (a, b)
            #expect(Set(first.map(\.id) + second.map(\.id)).count == 5, "no message claimed twice")
            #expect(try await database.claimDueMessages(now: now, limit: 10).isEmpty)
            // SQLite: the server, alone on its file, puts a crash's `sending` messages back when it starts. PostgreSQL:
            // other instances' sends may be in flight, so none is taken from them; each claim runs out by its lease.
            let again: [OutboundMessage]
            if database.dialect == .sqlite {
                #expect(try await database.requeueInterruptedSends(now: now) == 5)
                again = try await database.claimDueMessages(now: now, limit: 10)
            } else {
                #expect(try await database.requeueInterruptedSends(now: now) == 0, "another instance's sends are left to their lease")
                again = try await database.claimDueMessages(now: now.addingTimeInterval(61), limit: 10)
            }
            #expect(again.count == 5)
            #expect(again.allSatisfy { $0.attempts == 2 })
            try await database.recordSendOutcomes(again.map { .init(id: $0.id!, state: .sent, providerMessageID: "P\($0.id!)", error: nil, nextAttemptAt: nil) },
                                                  now: now)
            try await database.recordDeliveryReport(channel: "sms", providerMessageID: "P1", state: .delivered, error: nil, now: now)
            try await database.recordDeliveryReport(channel: "sms", providerMessageID: "P1", state: .sent, error: nil, now: now)
            let messages = try await database.outboundMessages()
            #expect(messages.first?.state == .delivered)
            #expect(messages.dropFirst().allSatisfy { $0.state == .sent })
            #expect(messages.allSatisfy { $0.encoding == .gsm7 && $0.segments == 1 })
        }
    }

    @Test("the report log's filters")
    func filters() async throws {
        try await TestBackend.withDatabase { database in
            try await database.write { store in
                for (index, area) in ["715", "769", "19900"].enumerated() {
                    var parsed = Self.tip
                    parsed.origin.areaCode = area
                    parsed.urgent = index == 1
                    var report = Report(parsed: parsed, channel: "sms", reporter: "+8490000000\(index)", text: "TRE Lũng Cú \(index)",
                                        receivedAt: Date(), provinceCode: index == 2 ? "46" : "8")
                    try store.insert(&report)
                }
            }
            var filter = AppDatabase.ReportFilter()
            #expect(try await database.reports(filter).map(\.number) == [1003, 1002, 1001])
            filter.area = "8"
            #expect(try await database.reports(filter).map(\.number) == [1002, 1001])
            filter = AppDatabase.ReportFilter()
            filter.query = "lung cu 2"
            #expect(try await database.reports(filter).map(\.number) == [1003])
            filter = AppDatabase.ReportFilter()
            filter.urgent = true
            #expect(try await database.reports(filter).map(\.number) == [1002])
            filter = AppDatabase.ReportFilter()
            filter.before = 1003
            filter.limit = 1
            #expect(try await database.reports(filter).map(\.number) == [1002])
            filter = AppDatabase.ReportFilter()
            filter.scopeAreas = ["715"]
            #expect(try await database.reports(filter).map(\.number) == [1001])
        }
    }

    @Test("search: whole words through the full-text index, newest first, kept equal to the text by updates and erasure")
    func searchIndex() async throws {
        try await TestBackend.withDatabase { database in
            try await database.write { store in
                for index in 0..<30 {
                    var report = Report(parsed: Self.tip, channel: "sms", reporter: "+8490000000\(index % 10)",
                                        text: index % 3 == 0 ? "TRE Mỷ \(index) Lũng Cú" : "TRE Lan \(index) Mèo Vạc", receivedAt: Date(), provinceCode: "8")
                    try store.insert(&report)
                }
            }
            var filter = AppDatabase.ReportFilter()
            filter.query = "my"
            #expect(try await database.reports(filter).map(\.number) == Array(stride(from: 1028, through: 1001, by: -3)))
            filter.limit = 2
            #expect(try await database.reports(filter).map(\.number) == [1028, 1025], "newest first, stopping at the limit")
            filter.query = "lan meo vac"
            filter.limit = 50
            #expect(try await database.reports(filter).count == 20, "every word must match")
            filter.query = "lan lung"
            #expect(try await database.reports(filter).isEmpty)
            filter.query = "\"*) OR x"
            #expect(try await database.reports(filter).isEmpty, "search syntax is only words")
            // A changed text is found by its new words only; an erased one by none.
            try await database.write { store in
                var report = try #require(try store.report(1001))
                report.text = "TRE Hoa Sủng Là"
                report.searchKey = "tre hoa sung la"
                try store.update(report)
                var erased = try #require(try store.report(1004))
                erased.text = nil
                erased.searchKey = nil
                try store.update(erased)
            }
            filter.query = "hoa sung"
            #expect(try await database.reports(filter).map(\.number) == [1001])
            filter.query = "my"
            #expect(!(try await database.reports(filter).map(\.number)).contains(1001))
            #expect(!(try await database.reports(filter).map(\.number)).contains(1004))
            // SQLite: the search index's segments merged (the old words leave them); nothing to do on PostgreSQL.
            try await database.checkpointTruncating()
            #expect(try await database.reports(filter).count == 8)
        }
    }

    @Test("encryption off: a text that looks sealed is kept as sent, and words the index splits are still found")
    func clearValuesAndSplitWords() async throws {
        try await TestBackend.withDatabase { database in
            let texts = ["enc1:x:AAAA", "enc0:y", "TRE Lan 14t", "TRE ภาษาไทย ăn", "TRE ភាសាខ្មែរ"]
            try await database.write { store in
                for text in texts {
                    var report = Report(parsed: Self.tip, channel: "sms", reporter: "+84900000001", text: text, receivedAt: Date(), provinceCode: "8")
                    try store.insert(&report)
                }
            }
            let stored = try await database.sqlRead { session in try session.rows("SELECT text FROM report ORDER BY number").map { $0[0].string } }
            #expect(stored == ["enc0:enc1:x:AAAA", "enc0:enc0:y", "TRE Lan 14t", "TRE ภาษาไทย ăn", "TRE ភាសាខ្មែរ"])
            for (offset, text) in texts.enumerated() {
                #expect(try await database.report(number: 1001 + offset)?.text == text, "opens as it was sent")
            }
            var filter = AppDatabase.ReportFilter()
            for (query, expected) in [("ภาษาไทย", [1004]), ("ภาษาไทย an", [1004]), ("ភាសាខ្មែរ", [1005]), ("ภาษา", []), ("tre", [1005, 1004, 1003])] {
                filter.query = query
                #expect(try await database.reports(filter).map(\.number) == expected, "search for \(query)")
            }
        }
    }

    @Test("the hotline log: cases to call now, then unacknowledged ones (urgent first), then the rest newest first")
    func urgentFirst() async throws {
        try await TestBackend.withDatabase { database in
            try await database.write { store in
                // 1001 closed urgent, 1002 open, 1003 acknowledged, 1004 open urgent, 1005 closed call-now, 1006 closed
                let cases: [(Report.Status, Bool, Bool)] = [(.closed, true, false), (.open, false, false), (.acknowledged, false, false),
                                                            (.open, true, false), (.closed, false, true), (.closed, false, false)]
                for (status, urgent, callNow) in cases {
                    var parsed = Self.tip
                    parsed.urgent = urgent
                    var report = Report(parsed: parsed, channel: "sms", reporter: "+84900000001", text: "TRE Lan", receivedAt: Date(), provinceCode: "8")
                    report.status = status
                    report.callNow = callNow
                    try store.insert(&report)
                }
            }
            var filter = AppDatabase.ReportFilter()
            filter.urgentFirst = true
            #expect(try await database.reports(filter).map(\.number) == [1005, 1004, 1002, 1006, 1003, 1001])
            filter.limit = 2
            #expect(try await database.reports(filter).map(\.number) == [1005, 1004])
            filter.limit = 4
            filter.query = "lan"
            #expect(try await database.reports(filter).map(\.number) == [1005, 1004, 1002, 1006])
        }
    }

    @Test("the channel log masks numbers and secrets")
    func redaction() {
        let entry = ChannelLogEntry(at: Date(), channel: "sms", direction: "out", kind: "send", status: 400, latencyMS: 1,
                                    error: "The 'To' number +84912345678 is not valid; api_key=abcdef123 token=xyz")
        #expect(entry.error == "The 'To' number 8491****678 is not valid; api_key=*** token=***")
    }
}

extension AppDatabaseTests {
    @Test("v14: outcome and child_sex in clear; the sex copied from clear parses only, then written with every report",
          .enabled(if: TestBackend.isSQLite, "migrates an old SQLite schema (PostgreSQL's migrations: PostgresTests)"))
    func outcomeColumns() async throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v13: only case alerts bundle")
        try await queue.write { db in
            let clear = #"{"child":{"age":14,"name":"Lan","sex":"female"},"kind":"tip"}"#
            for (number, parsed) in [(1001, clear), (1002, "enc1:k1:AAAA")] {
                try db.execute(sql: "INSERT INTO report (number, kind, status, channel, received_at, parsed, updated_at) VALUES (?, 'tip', 'open', 'sms', ?, ?, ?)",
                               arguments: [number, Date(), parsed, Date()])
            }
        }
        let database = try AppDatabase(queue)
        let sexes = try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT child_sex FROM report ORDER BY number").map { $0["child_sex"] as String? }
        }
        #expect(sexes == ["female", nil], "a sealed parse is left for tipline rekey")
        var report = try #require(try await database.report(number: 1001))
        #expect(report.outcome == nil)
        report.outcome = .notFound
        report.parsed.child.sex = .male
        try await database.dbWrite { [report] db in try report.update(db) }
        let row = try #require(try await queue.read { db in try Row.fetchOne(db, sql: "SELECT outcome, child_sex FROM report WHERE number = 1001") })
        #expect(row["outcome"] as String? == "not_found" && row["child_sex"] as String? == "male")
        #expect(try await database.report(number: 1001)?.outcome == .notFound)
    }

    @Test("v18: 128-bit blind indexes and search words become 64-bit ones without the keys; lookups, opt-outs and searches match",
          .enabled(if: TestBackend.isSQLite, "migrates an old SQLite schema (PostgreSQL's migrations: PostgresTests)"))
    func shorterBlindIndexes() async throws {
        let cipher = try FieldCipher.make(keys: [(id: "k1", base64: FieldCipher.newKey())], indexKey: FieldCipher.newKey())
        let phone = "+84912345678"
        let old = try #require(cipher.keyed(phone, prefix: "bi1:", bytes: 16))
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v17: search through a full-text index of the words' blind indexes")
        try await queue.write { db in
            // Search words are folded (upper case, no diacritics) before they are indexed.
            let words = " " + ["TRE", "LAN"].map { cipher.keyed($0, prefix: "bi1:", bytes: 16)! }.joined(separator: " ") + " "
            try db.execute(sql: """
                INSERT INTO report (number, kind, status, channel, received_at, parsed, updated_at, reporter_index, search_key)
                VALUES (1001, 'tip', 'open', 'sms', ?, '{"kind":"tip"}', ?, ?, ?)
                """, arguments: [Date(), Date(), old, words])
            try db.execute(sql: "INSERT INTO opt_out (phone, at) VALUES (?, ?)", arguments: [old, Date()])
        }
        let database = try AppDatabase(queue, cipher: cipher)
        let stored = try await queue.read { db in try String.fetchOne(db, sql: "SELECT reporter_index FROM report") }
        #expect(stored == cipher.index(phone) as String)
        #expect(old.hasPrefix("bi1:" + (stored ?? "").dropFirst(4)), "the first half of the old index")
        #expect(try await database.dbRead { db in try AppDatabase.isOptedOut(db, phone: phone) })
        var filter = AppDatabase.ReportFilter()
        filter.query = "Lan"
        #expect(try await database.reports(filter).map(\.number) == [1001], "a search key of bi1 words is found through its bw words")
        let key = try await queue.read { db in try String.fetchOne(db, sql: "SELECT search_key FROM report") }
        #expect(key == " " + ["TRE", "LAN"].map { cipher.searchToken($0) }.joined(separator: " ") + " ")
    }
}
