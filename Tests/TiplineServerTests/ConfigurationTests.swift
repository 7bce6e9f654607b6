import Foundation
import Testing
@testable import TiplineServer

@Suite("Configuration")
struct ConfigurationTests {
    @Test("the sample deployment loads, with its simulator channel")
    func sampleLoads() throws {
        let deployment = try SampleDeployment.load()
        #expect(deployment.settings.channels.keys.sorted() == ["simulator"])
        #expect(deployment.settings.outboundChannel == "simulator")
        #expect(deployment.gazetteer.areas.count == 164)
        #expect(deployment.roster.officers.contains { $0.role == .hotline })
        #expect(deployment.settings.timeZone.identifier == "Asia/Ho_Chi_Minh")
    }

    @Test("environment variables override settings")
    func environmentOverrides() throws {
        let deployment = try SampleDeployment.load(environment: ["TIPLINE_SERVER_PORT": "9191", "TIPLINE_DATABASE_PATH": "/tmp/x.sqlite"])
        #expect(deployment.settings.port == 9191)
        #expect(deployment.settings.databasePath == "/tmp/x.sqlite")
    }

    func loadError(_ file: String, environment: [String: String] = [:], _ edit: (String) -> String) throws -> String {
        let folder = try SampleDeployment.copy(editing: file, edit)
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            _ = try Deployment.load(configPath: folder.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys.merging(environment) { $1 })
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test("database.url: PostgreSQL only with the password outside the config file, never beside database.path")
    func postgresSettings() throws {
        let url = "postgresql://tipline@db.example.org:5432/tipline?sslmode=verify-full"
        let both = try loadError("tipline.yaml") { $0.replacingOccurrences(of: "database:\n", with: "database:\n  url: \(url)\n") }
        #expect(both.contains("database.url: and database.path are both set"), "\(both)")
        let withPassword = try loadError("tipline.yaml") {
            $0.replacingOccurrences(of: "  path: ../data/tipline.sqlite\n", with: "  url: postgresql://tipline:hunter22@db.example.org/tipline\n")
        }
        #expect(withPassword.contains("holds a password, which is a secret") && !withPassword.contains("hunter22"), "\(withPassword)")
        let settings = try SampleDeployment.load(environment: ["TIPLINE_DATABASE_URL": url, "TIPLINE_DATABASE_PASSWORD": "from-env"]).settings
        #expect(settings.postgres?.password == "from-env" && settings.postgres?.tls == "verify-full")
        #expect(settings.databaseDescription == "postgresql://tipline@db.example.org:5432/tipline", "no password in logs")
        #expect(try SampleDeployment.load().settings.postgres == nil, "the sample keeps its SQLite file")
        #expect(settings.postgres?.maxConnections == 32, "transactions at once, by default")
        let tooFew = try loadError("tipline.yaml", environment: ["TIPLINE_DATABASE_URL": url]) {
            $0.replacingOccurrences(of: "  synchronous: full\n", with: "  synchronous: full\n  max_connections: 1\n")
        }
        #expect(tooFew.contains("database.max_connections"), "\(tooFew)")

        // A relative sslrootcert is the config folder's file, wherever tipline was started from.
        let folder = try SampleDeployment.copy()
        defer { try? FileManager.default.removeItem(at: folder) }
        try "-----BEGIN CERTIFICATE-----\n".write(to: folder.appendingPathComponent("db-ca.pem"), atomically: true, encoding: .utf8)
        let own = try Deployment.load(configPath: folder.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys.merging(
            ["TIPLINE_DATABASE_URL": url + "&sslrootcert=db-ca.pem"]) { $1 }).settings
        #expect(own.postgres?.rootCertificate == folder.appendingPathComponent("db-ca.pem").standardizedFileURL.path)
        let missing = try loadError("tipline.yaml", environment: ["TIPLINE_DATABASE_URL": url + "&sslrootcert=nowhere.pem"]) { $0 }
        #expect(missing.contains("database.url") && missing.contains("nowhere.pem: no readable file there"), "\(missing)")
    }

    @Test("a places.csv without the USSD menu's destination codes is a config error naming the file (it used to trap the daemon)")
    func ussdDestinationsInPlaces() throws {
        let message = try loadError("places.csv") { text in
            text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("country,CN,") && !$0.hasPrefix("country,MY,") }
                .joined(separator: "\r\n") + "\r\n"
        }
        #expect(message.contains("places.csv: code: the USSD destination menu offers CN, MY"), "\(message)")
    }

    @Test("a bad value names the file, line and key")
    func badPort() throws {
        let message = try loadError("tipline.yaml") { $0.replacingOccurrences(of: "port: 8080", with: "port: eighty") }
        #expect(message.contains("tipline.yaml:10: server.port: must be a whole number from 0 to 65535, not 'eighty'"), "\(message)")
    }

    @Test("a bad environment override names the variable")
    func badEnvironment() throws {
        let message = try loadError("tipline.yaml", environment: ["TIPLINE_SERVER_PORT": "x"]) { $0 }
        #expect(message.contains("TIPLINE_SERVER_PORT"), "\(message)")
    }

    @Test("YAML that does not parse names the line")
    func brokenYAML() throws {
        let message = try loadError("tipline.yaml") { $0.replacingOccurrences(of: "  host: 127.0.0.1", with: "  host: [127.0.0.1") }
        #expect(message.contains("tipline.yaml:") && message.contains("not valid YAML"), "\(message)")
    }

    @Test("a secret in the config file is refused, with the environment variable to use instead")
    func secretInFile() throws {
        let message = try loadError("tipline.yaml") {
            $0.replacingOccurrences(of: "    account_sid: AC00000000000000000000000000000000", with: "    account_sid: AC00000000000000000000000000000000\n    auth_token: abc")
              .replacingOccurrences(of: "  twilio:\n    enabled: false", with: "  twilio:\n    enabled: true")
        }
        #expect(message.contains("channels.twilio.auth_token: is a secret") && message.contains("TIPLINE_CHANNEL_TWILIO_AUTH_TOKEN"), "\(message)")
    }

    @Test("an enabled channel without its credentials says which variable to set")
    func missingCredentials() throws {
        let message = try loadError("tipline.yaml") {
            $0.replacingOccurrences(of: "  twilio:\n    enabled: false", with: "  twilio:\n    enabled: true")
        }
        #expect(message.contains("channels.twilio.auth_token") && message.contains("set TIPLINE_CHANNEL_TWILIO_AUTH_TOKEN"), "\(message)")
    }

    @Test("an unknown outbound channel is an error listing the enabled ones")
    func unknownOutboundChannel() throws {
        let message = try loadError("tipline.yaml") { $0.replacingOccurrences(of: "outbound_channel: simulator", with: "outbound_channel: sms") }
        #expect(message.contains("outbound_channel: 'sms' is not an enabled channel (enabled: simulator)"), "\(message)")
    }

    @Test("an officer covering an unknown area code is an error naming the roster line")
    func unknownArea() throws {
        let message = try loadError("roster.yaml") { $0.replacingOccurrences(of: "areas: [\"715\", \"721\"]", with: "areas: [\"715\", \"7777\"]") }
        #expect(message.contains("roster.yaml:") && message.contains("officers[0].areas: '7777' is not an area code in areas.csv"), "\(message)")
    }

    @Test("a shift that ends before it starts is an error that says how to write a night shift")
    func backwardsShift() throws {
        let message = try loadError("roster.yaml") { $0.replacingOccurrences(of: "to: \"06:00+1\"", with: "to: \"06:00\"") }
        #expect(message.contains("ends (06:00) before it starts (18:00)") && message.contains("06:00+1"), "\(message)")
    }

    @Test("a bad officer phone number is an error")
    func badPhone() throws {
        let message = try loadError("roster.yaml") { $0.replacingOccurrences(of: "\"+84900000101\"", with: "\"12345\"") }
        #expect(message.contains("officers[0].phone: '12345' is not a phone number"), "\(message)")
    }

    @Test("one check reports every problem of every file")
    func everyProblemAtOnce() throws {
        let folder = try SampleDeployment.copy(editing: "tipline.yaml") {
            $0.replacingOccurrences(of: "port: 8080", with: "port: eighty")
              .replacingOccurrences(of: "timezone: Asia/Ho_Chi_Minh", with: "timezone: Asia/Hue")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let roster = folder.appendingPathComponent("roster.yaml")
        try String(contentsOf: roster, encoding: .utf8)
            .replacingOccurrences(of: "areas: [\"715\", \"721\"]", with: "areas: [\"715\", \"7777\"]")
            .replacingOccurrences(of: "\"+84900000101\"", with: "\"12345\"")
            .write(to: roster, atomically: true, encoding: .utf8)
        var text = ""
        do {
            _ = try Deployment.load(configPath: folder.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys)
        } catch {
            text = "\(error)"
        }
        for expected in ["tipline.yaml:10: server.port: must be a whole number", "timezone: 'Asia/Hue' is not a time zone name",
                         "officers[0].areas: '7777' is not an area code in areas.csv", "officers[0].phone: '12345' is not a phone number"] {
            #expect(text.contains(expected), "\(expected)\n\(text)")
        }
    }

    @Test("a USSD channel verifying requests with neither a token nor allowed sources is an error naming the file and key")
    func ussdWithNothingToVerify() throws {
        let withoutSources: (String) -> String = { $0.replacingOccurrences(of: "    allowed_sources: [\"127.0.0.1\", \"::1\"]\n", with: "") }
        let message = try loadError("tipline.yaml", withoutSources)
        #expect(message.contains("tipline.yaml:") && message.contains("channels.ussd.verify_requests: is on")
                && message.contains("TIPLINE_CHANNEL_USSD_WEBHOOK_TOKEN") && message.contains("allowed_sources"), "\(message)")
        #expect(try loadError("tipline.yaml", environment: ["TIPLINE_CHANNEL_USSD_WEBHOOK_TOKEN": "t0ken"], withoutSources).isEmpty,
                "a token is enough")
        #expect(try loadError("tipline.yaml") { withoutSources($0).replacingOccurrences(of: "session_timeout_seconds: 180", with: "session_timeout_seconds: 180\n    verify_requests: false") }
                .isEmpty, "verification can be turned off")
    }

    @Test("the USSD channel verifies by default; its token never comes from the config file")
    func ussdVerifiesByDefault() throws {
        let deployment = try SampleDeployment.load(environment: ["TIPLINE_CHANNEL_USSD_WEBHOOK_TOKEN": "t0ken"])
        let ussd = try #require(deployment.settings.ussdChannels["ussd"])
        #expect(ussd.verifyRequests && ussd.webhookToken == "t0ken" && ussd.allowedSources == ["127.0.0.1", "::1"])
        let message = try loadError("tipline.yaml") {
            $0.replacingOccurrences(of: "session_timeout_seconds: 180", with: "session_timeout_seconds: 180\n    webhook_token: abc")
        }
        #expect(message.contains("channels.ussd.webhook_token: is a secret") && message.contains("TIPLINE_CHANNEL_USSD_WEBHOOK_TOKEN"), "\(message)")
    }

    @Test("a missing areas.csv column is an error naming it")
    func badAreas() throws {
        let message = try loadError("areas.csv") { $0.replacingOccurrences(of: "code,name,province", with: "id,name,province") }
        #expect(message.contains("areas.csv") && message.contains("'code'"), "\(message)")
    }
}

@Suite("Vocabulary file")
struct VocabularyFileTests {
    @Test("the sample vocabulary.yaml is the grammar's built-in vocabulary")
    func sampleMatchesBuiltIn() throws {
        #expect(try SampleDeployment.load().parser.vocabulary == .standard)
    }

    @Test("a new synonym is a data change: an added keyword is understood")
    func addedKeyword() throws {
        let folder = try SampleDeployment.copy(editing: "vocabulary.yaml") {
            $0.replacingOccurrences(of: #"tip: {vi: ["TRE", "TREEM", "TRE EM"]"#, with: #"tip: {vi: ["TRE", "TREEM", "TRE EM", "CHAU"]"#)
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let deployment = try Deployment.load(configPath: folder.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys)
        let parsed = deployment.parser.parse("chau Lan 14t nu xa Lung Cu di HCM", receivedAt: Date())
        #expect(parsed.kind == .tip && parsed.origin.areaCode == "715")
    }

    @Test("an unknown intent names the file and key")
    func unknownIntent() throws {
        let folder = try SampleDeployment.copy(editing: "vocabulary.yaml") { $0.replacingOccurrences(of: "  home: {", with: "  homes: {") }
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect {
            try Deployment.load(configPath: folder.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys)
        } throws: { "\($0)".contains("vocabulary.yaml:") && "\($0)".contains("keywords.homes: unknown intent") }
    }

    @Test("an outcome code is a data change; an unknown outcome or a code given to two is an error naming the key")
    func outcomeCodes() throws {
        let added = try SampleDeployment.copy(editing: "vocabulary.yaml") {
            $0.replacingOccurrences(of: #"returned: ["VE", "HOME", "RETURNED"]"#, with: #"returned: ["VE", "HOME", "RETURNED", "DA VE"]"#)
        }
        defer { try? FileManager.default.removeItem(at: added) }
        let deployment = try Deployment.load(configPath: added.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys)
        let parsed = deployment.parser.parse("XONG 1001 da ve nha", receivedAt: Date())
        #expect(parsed.outcome == .returned && parsed.note == "nha")

        let unknown = try SampleDeployment.copy(editing: "vocabulary.yaml") { $0.replacingOccurrences(of: "  stopped: [", with: "  halted: [") }
        defer { try? FileManager.default.removeItem(at: unknown) }
        #expect {
            try Deployment.load(configPath: unknown.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys)
        } throws: { "\($0)".contains("vocabulary.yaml:") && "\($0)".contains("outcomes.halted: unknown outcome") }

        let twice = try SampleDeployment.copy(editing: "vocabulary.yaml") {
            $0.replacingOccurrences(of: #"stopped: ["CHAN", "STOPPED"]"#, with: #"stopped: ["CHAN", "STOPPED", "VE"]"#)
        }
        defer { try? FileManager.default.removeItem(at: twice) }
        #expect {
            try Deployment.load(configPath: twice.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys)
        } throws: { "\($0)".contains("outcomes.stopped") && "\($0)".contains("'VE' already means returned") }
    }
}
