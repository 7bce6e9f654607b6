import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
            let database = try await deployment.settings.openDatabase()
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
            let database = try await deployment.settings.openDatabase()
            let formatter = ISO8601DateFormatter()
            print("id  name                      role     officer              created               last used             state")
            for token in try await database.tokens() {
                print(String(token.id).padding(toLength: 4, withPad: " ", startingAt: 0)
                      + token.name.padding(toLength: 26, withPad: " ", startingAt: 0)
                      + token.role.padding(toLength: 9, withPad: " ", startingAt: 0)
                      + (token.officerID ?? "-").padding(toLength: 21, withPad: " ", startingAt: 0)
                      + formatter.string(from: token.createdAt).padding(toLength: 22, withPad: " ", startingAt: 0)
                      + (token.lastUsedAt.map(formatter.string(from:)) ?? "never").padding(toLength: 22, withPad: " ", startingAt: 0)
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
            let database = try await deployment.settings.openDatabase()
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
        subcommands: [Create.self, List.self, Unlock.self, Disable.self, Enable.self, Delete.self, Passwd.self]
    )

    /// A password from $TIPLINE_PASSWORD, else typed at a prompt (not echoed, asked twice), else one line of standard input.
    static func readPassword(for name: String) throws -> String {
        if let password = ProcessInfo.processInfo.environment["TIPLINE_PASSWORD"], !password.isEmpty {
            return try checked(password)
        }
        guard isatty(STDIN_FILENO) == 1 else { return try checked(readLine(strippingNewline: true) ?? "") }
        let first = prompt("password for \(name): ")
        guard prompt("again: ") == first else { throw ValidationError("the two passwords differ") }
        return try checked(first)
    }

    /// Reads a line from the terminal without echoing it.
    static func prompt(_ text: String) -> String {
        guard let typed = getpass(text) else { return "" }
        return String(cString: typed)
    }

    static func checked(_ password: String) throws -> String {
        guard password.count >= 10 else { throw ValidationError("the password must have at least 10 characters") }
        return password
    }

    /// The database of the deployment `options` names.
    static func database(_ options: CommonOptions) async throws -> AppDatabase {
        try await options.loadDeployment().settings.openDatabase()
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an account; the password is read from $TIPLINE_PASSWORD, a prompt or standard input.")
        @OptionGroup var options: CommonOptions
        @Option(help: "The sign-in name.") var name: String
        @Option(help: "hotline, officer or admin.") var role: StaffIdentity.Role
        @Option(help: "For the officer role: the roster id whose areas they may read.") var officer: String?

        func run() async throws {
            let deployment = try options.loadDeployment()
            if role == .officer, officer.flatMap(deployment.roster.officer(id:)) == nil {
                throw ValidationError("--officer must name an officer id of the roster for the officer role")
            }
            let password = try User.readPassword(for: name)
            let database = try await deployment.settings.openDatabase()
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
        static let configuration = CommandConfiguration(abstract: "List accounts, with those disabled or with failed sign-ins.")
        @OptionGroup var options: CommonOptions
        func run() async throws {
            let database = try await User.database(options)
            let users = try await database.users()
            let throttles = try await database.signInThrottles(users.map { SignInThrottleKey.account($0.identity.name) })
            for user in users {
                var state = ""
                if user.disabledAt != nil { state += " (disabled)" }
                if let throttle = throttles[SignInThrottleKey.account(user.identity.name)] {
                    let waiting = (throttle.blockedUntil ?? .distantPast) > Date()
                    state += " (\(throttle.failures) failed sign-ins\(waiting ? ", waiting" : ""))"
                }
                print("\(user.identity.name)\t\(user.identity.role.rawValue)\t\(user.identity.officerID ?? "-")\(state)")
            }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget an account's failed sign-ins, so it need not wait.")
        @OptionGroup var options: CommonOptions
        @Argument var name: String
        func run() async throws {
            guard try await User.database(options).unlockUser(name: name) > 0 else { throw ValidationError("no user named '\(name)'") }
            print("unlocked \(name)")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an account signing in; its sessions end now.")
        @OptionGroup var options: CommonOptions
        @Argument var name: String
        func run() async throws {
            let database = try await User.database(options)
            guard try await database.user(named: name) != nil else { throw ValidationError("no user named '\(name)'") }
            _ = try await database.setUserDisabled(name: name, true, now: Date())
            try await database.audit(User.operatorIdentity, action: "user_disable", target: name, now: Date())
            print("disabled \(name)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a disabled account sign in again.")
        @OptionGroup var options: CommonOptions
        @Argument var name: String
        func run() async throws {
            let database = try await User.database(options)
            guard try await database.user(named: name) != nil else { throw ValidationError("no user named '\(name)'") }
            _ = try await database.setUserDisabled(name: name, false, now: Date())
            try await database.audit(User.operatorIdentity, action: "user_enable", target: name, now: Date())
            print("enabled \(name)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an account and end its sessions (the audit log keeps its name).")
        @OptionGroup var options: CommonOptions
        @Argument var name: String
        func run() async throws {
            let database = try await User.database(options)
            guard try await database.deleteUser(name: name) > 0 else { throw ValidationError("no user named '\(name)'") }
            try await database.audit(User.operatorIdentity, action: "user_delete", target: name, now: Date())
            print("deleted \(name)")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set an account's password (from $TIPLINE_PASSWORD, a prompt or standard input); its sessions end now.")
        @OptionGroup var options: CommonOptions
        @Argument var name: String
        func run() async throws {
            let database = try await User.database(options)
            guard try await database.user(named: name) != nil else { throw ValidationError("no user named '\(name)'") }
            let hash = try StaffAuth.hash(password: try User.readPassword(for: name))
            guard try await database.setPassword(name: name, passwordHash: hash) > 0 else { throw ValidationError("no user named '\(name)'") }
            try await database.audit(User.operatorIdentity, action: "user_password", target: name, now: Date())
            print("password of \(name) changed; their sessions have ended")
        }
    }

    /// Who the audit log names for changes made on the command line.
    static let operatorIdentity = StaffIdentity(name: "command line", role: .admin)
}
