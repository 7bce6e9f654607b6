import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

extension StaffIdentity.Role: ExpressibleByArgument {}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API tokens for hotline staff and case systems.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token; it is printed once and stored only as a hash.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Who or what uses it (shown in the audit log).") var name: String
        @Option(help: "hotline, officer or admin.") var role: StaffIdentity.Role
        @Option(help: "For the officer role: the roster id whose areas it may read.") var officer: String?

        func run() async throws {
            let deployment = try options.loadDeployment()
            if role == .officer {
                guard let officer, deployment.roster.officer(id: officer) != nil else {
                    throw ValidationError("--officer must name an officer id of the roster for the officer role")
                }
            }
            let database = try AppDatabase.open(path: deployment.settings.databasePath)
            let token = StaffAuth.newToken()
            let id = try await database.insertToken(name: name, role: role, officerID: officer, hash: StaffAuth.hash(token: token), now: Date())
            print(token)
            FileHandle.standardError.write(Data("token \(id) for '\(name)' (\(role.rawValue)) created; it is shown only now\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their values).")
        @OptionGroup var options: CommonOptions
        func run() async throws {
            let deployment = try options.loadDeployment()
            let database = try AppDatabase.open(path: deployment.settings.databasePath)
            let formatter = ISO8601DateFormatter()
            print("id  name                      role     officer              created               state")
            for token in try await database.tokens() {
                print(String(token.id).padding(toLength: 4, withPad: " ", startingAt: 0)
                      + token.name.padding(toLength: 26, withPad: " ", startingAt: 0)
                      + token.role.padding(toLength: 9, withPad: " ", startingAt: 0)
                      + (token.officerID ?? "-").padding(toLength: 21, withPad: " ", startingAt: 0)
                      + formatter.string(from: token.createdAt).padding(toLength: 22, withPad: " ", startingAt: 0)
                      + (token.revokedAt.map { "revoked \(formatter.string(from: $0))" } ?? "active"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by id or name.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The token's id or name.") var token: String
        func run() async throws {
            let deployment = try options.loadDeployment()
            let database = try AppDatabase.open(path: deployment.settings.databasePath)
            let count = try await database.revokeToken(token, now: Date())
            guard count > 0 else {
                FileHandle.standardError.write(Data("tipline: no active token with id or name '\(token)'\n".utf8))
                throw ExitCode(1)
            }
            print("revoked \(count) token(s)")
        }
    }
}

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Web sign-in accounts for hotline staff.",
        subcommands: [Create.self, List.self, Unlock.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an account; the password is read from standard input or $TIPLINE_PASSWORD.")
        @OptionGroup var options: CommonOptions
        @Option(help: "The sign-in name.") var name: String
        @Option(help: "hotline, officer or admin.") var role: StaffIdentity.Role
        @Option(help: "For the officer role: the roster id whose areas they may read.") var officer: String?

        func run() async throws {
            let deployment = try options.loadDeployment()
            if role == .officer, officer.flatMap(deployment.roster.officer(id:)) == nil {
                throw ValidationError("--officer must name an officer id of the roster for the officer role")
            }
            var password = ProcessInfo.processInfo.environment["TIPLINE_PASSWORD"] ?? ""
            if password.isEmpty {
                FileHandle.standardError.write(Data("password for \(name): ".utf8))
                password = readLine(strippingNewline: true) ?? ""
            }
            guard password.count >= 10 else { throw ValidationError("the password must have at least 10 characters") }
            let database = try AppDatabase.open(path: deployment.settings.databasePath)
            do {
                try await database.insertUser(name: name, role: role, officerID: officer, passwordHash: try StaffAuth.hash(password: password), now: Date())
            } catch {
                FileHandle.standardError.write(Data("tipline: could not create '\(name)' (the name may be taken): \(error)\n".utf8))
                throw ExitCode(1)
            }
            print("user '\(name)' (\(role.rawValue)) created")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var options: CommonOptions
        func run() async throws {
            let deployment = try options.loadDeployment()
            let database = try AppDatabase.open(path: deployment.settings.databasePath)
            for user in try await database.users() {
                let locked = user.lockedUntil.map { $0 > Date() ? " (locked)" : "" } ?? ""
                print("\(user.identity.name)\t\(user.identity.role.rawValue)\t\(user.identity.officerID ?? "-")\(locked)")
            }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unlock an account locked after failed sign-ins.")
        @OptionGroup var options: CommonOptions
        @Argument var name: String
        func run() async throws {
            let deployment = try options.loadDeployment()
            let database = try AppDatabase.open(path: deployment.settings.databasePath)
            guard try await database.unlockUser(name: name) > 0 else { throw ValidationError("no user named '\(name)'") }
            print("unlocked \(name)")
        }
    }
}
