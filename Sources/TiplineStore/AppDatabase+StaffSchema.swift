import Foundation
import GRDB

// MARK: - Staff access schema

extension AppDatabase {
    /// The staff-access migrations after "v4: staff access"; the migrator registers them right after "v8".
    static func registerStaffMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9: sign-in throttling, disabled users") { db in
            // Failed sign-ins, counted per account name and per client address (`SignInThrottleKey`): growing waits
            // instead of a hard lock a stranger could keep on. A key without a row has no failure to remember.
            try db.create(table: "sign_in_throttle") { t in
                t.primaryKey("throttle_key", .text)
                t.column("failures", .integer).notNull()
                t.column("last_failure_at", .datetime).notNull().indexed()
                t.column("blocked_until", .datetime)
            }
            try db.alter(table: "staff_user") { t in
                t.add(column: "disabled_at", .datetime)
            }
            // The old hard lock-out, replaced by the throttle above.
            try db.alter(table: "staff_user") { t in
                t.drop(column: "failed_attempts")
                t.drop(column: "locked_until")
            }
        }
    }
}
