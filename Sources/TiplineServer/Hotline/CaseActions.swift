import Foundation
import TiplineCore
import TiplineStore

/// What hotline staff can do to a case from the API or the web pages: the ``CaseWorkflow``'s actions, each in a
/// transaction of its own, recorded in the timeline with the staff member's name.
struct CaseActions {
    let database: AppDatabase
    let deployment: DeploymentHolder
    let clock: @Sendable () -> Date

    /// How the web and API answer a refused action (404, 400, 409).
    enum Failure: Error, Equatable {
        case notFound
        case invalid(String)
        case conflict(String)
    }

    func acknowledge(_ number: Int, by staff: StaffIdentity) async throws -> Report {
        try await perform(number) { workflow in try workflow.acknowledge(number, by: .staff(staff)) }
    }

    func note(_ number: Int, text: String, by staff: StaffIdentity) async throws -> Report {
        try await perform(number) { workflow in try workflow.note(number, text: text, by: .staff(staff)) }
    }

    func close(_ number: Int, result: String, outcome: Outcome? = nil, by staff: StaffIdentity) async throws -> Report {
        try await perform(number) { workflow in try workflow.close(number, result: result, outcome: outcome, by: .staff(staff)) }
    }

    /// Gives the case to an officer of the roster, who is alerted by SMS.
    func reassign(_ number: Int, to officerID: String, by staff: StaffIdentity) async throws -> Report {
        guard let officer = deployment.current.roster.officer(id: officerID) else {
            throw Failure.invalid("officer: '\(officerID)' is not in the roster")
        }
        return try await perform(number) { workflow in try workflow.reassign(number, to: officer, by: .staff(staff)) }
    }

    private func perform(_ number: Int, _ action: @escaping @Sendable (CaseWorkflow) throws -> Report) async throws -> Report {
        let current = deployment.current
        let now = clock()
        do {
            return try await database.write { store in
                try action(CaseWorkflow(store: store, deployment: current, now: now))
            }
        } catch let refusal as CaseWorkflow.Refusal {
            switch refusal {
            case .notFound: throw Failure.notFound
            case .invalid(let reason): throw Failure.invalid(reason)
            case .alreadyTaken(let holder, _): throw Failure.conflict("report \(number) was already taken by \(holder)")
            case .closed: throw Failure.conflict("report \(number) is already closed")
            }
        }
    }
}
