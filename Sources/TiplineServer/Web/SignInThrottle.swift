import Foundation
import TiplineStore

/// Growing waits after failed sign-ins, counted per account name and per client address, kept in the database.
///
/// A few failures are free; after that each failure doubles the wait before the next attempt under that key is even
/// checked, up to a cap. Failures are forgotten after a quiet hour, and an account's count is cleared by a successful
/// sign-in (`tipline user unlock` clears it too). There is no hard lock for a stranger to keep an account in: at worst
/// they keep its wait at the cap, and the address count slows them down on every name they try. An attempt while
/// waiting is refused unchecked and not counted, so refusals do not lengthen the wait.
///
/// Unknown names are counted like real ones, so the throttle itself tells nobody which names exist. An admitted
/// attempt is counted as a failure before its password is checked — a burst of parallel guesses cannot all slip in
/// before the first is counted — and ``succeeded(name:address:)`` takes the count back.
struct SignInThrottle: Sendable {
    struct Policy: Sendable {
        /// Failures with no wait after them.
        var freeFailures: Int
        /// The wait after the first failure past the free ones; it doubles with each further failure.
        var firstWait: TimeInterval
        var longestWait: TimeInterval
        /// Failures are forgotten after this long without one (no shorter than `longestWait`).
        var forgetAfter: TimeInterval

        /// The wait after the `failures`-th failure in a row, if any.
        func wait(afterFailures failures: Int) -> TimeInterval? {
            guard failures >= freeFailures else { return nil }
            return min(firstWait * pow(2, Double(min(failures - freeFailures, 30))), longestWait)
        }
    }

    /// Per account name: three tries, then 30 s, 1 min, 2 min … up to 15 min.
    static let perAccount = Policy(freeFailures: 3, firstWait: 30, longestWait: 15 * 60, forgetAfter: 3600)
    /// Per client address: more room, for a hotline office behind one address.
    static let perAddress = Policy(freeFailures: 10, firstWait: 30, longestWait: 15 * 60, forgetAfter: 3600)

    let database: AppDatabase
    let clock: @Sendable () -> Date

    func throttleKeys(name: String, address: String) -> [(key: String, policy: Policy)] {
        [(SignInThrottleKey.account(name), Self.perAccount), (SignInThrottleKey.address(address), Self.perAddress)]
    }

    var forgetBefore: Date {
        clock().addingTimeInterval(-max(Self.perAccount.forgetAfter, Self.perAddress.forgetAfter))
    }

    /// Whether an attempt to sign in as `name` from `address` may be checked now; if so it is counted as a failure
    /// until ``succeeded(name:address:)``.
    func admit(name: String, address: String) async throws -> Bool {
        let now = clock()
        let keys = throttleKeys(name: name, address: address)
        typealias Update = (records: [String: SignInThrottleRecord], outcome: Bool)
        return try await database.updateSignInThrottles(keys.map(\.key), forgetBefore: forgetBefore) { stored -> Update in
            var records = stored
            for (key, policy) in keys {
                if let record = records[key], now.timeIntervalSince(record.lastFailureAt) >= policy.forgetAfter { records[key] = nil }
            }
            let waiting = keys.contains { entry in records[entry.key]?.blockedUntil.map { $0 > now } ?? false }
            guard !waiting else { return (records, false) }
            for (key, policy) in keys {
                let failures = (records[key]?.failures ?? 0) + 1
                records[key] = SignInThrottleRecord(failures: failures, lastFailureAt: now,
                                                    blockedUntil: policy.wait(afterFailures: failures).map { now.addingTimeInterval($0) })
            }
            return (records, true)
        }
    }

    /// The attempt was right: the account's count is cleared, and the address's count takes back this attempt.
    func succeeded(name: String, address: String) async throws {
        let keys = throttleKeys(name: name, address: address)
        let account = keys[0].key, client = keys[1].key
        typealias Update = (records: [String: SignInThrottleRecord], outcome: Void)
        try await database.updateSignInThrottles(keys.map(\.key), forgetBefore: forgetBefore) { stored -> Update in
            var records = stored
            records[account] = nil
            if var record = records[client] {
                record.failures -= 1
                record.blockedUntil = nil
                records[client] = record.failures > 0 ? record : nil
            }
            return (records, ())
        }
    }
}
