import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the roster, replies, escalation policy and reference data on SIGHUP, without a restart.
///
/// The files are checked together first; on any error the running deployment is kept and the errors are logged.
/// Settings that need a restart (listen address, database, channels) are not changed by a reload.
public struct ReloadService: Service, CustomStringConvertible {
    public let description = "ReloadService"
    let deployment: DeploymentHolder
    let logger: Logger

    public init(deployment: DeploymentHolder, logger: Logger) {
        self.deployment = deployment
        self.logger = logger
    }

    /// Loads the files again and, when they check out, puts them in force.
    @discardableResult
    public func reload() -> Bool {
        let current = deployment.current
        do {
            let fresh = try Deployment.load(settings: current.settings)
            deployment.replace(fresh)
            logger.notice("configuration reloaded", metadata: [
                "officers": "\(fresh.roster.officers.count)", "areas": "\(fresh.gazetteer.areas.count)",
            ])
            for warning in fresh.warnings { logger.warning("\(warning)") }
            return true
        } catch {
            logger.error("reload refused; the running configuration stays in force", metadata: ["errors": "\(error)"])
            return false
        }
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        // A graceful shutdown cancels the loop, which ends the signal sequence.
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                reload()
            }
        }
    }
}
