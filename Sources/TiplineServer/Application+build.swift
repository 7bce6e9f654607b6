import CurlHTTP
import Foundation
import Hummingbird
import Logging
import Mustache
import ServiceLifecycle
import TiplineCore
import TiplineProviders
import TiplineStore

/// The parts of a running tipline, built once and shared by the HTTP routes and the background services.
public struct TiplineRuntime: Sendable {
    public let deployment: DeploymentHolder
    public let database: AppDatabase
    public let client: CurlClient
    public let dispatcher: OutboxDispatcher
    public let intake: Intake
    public let simulator: SimulatorInbox
    public let metrics: TiplineMetrics
    public let channelLog: ChannelLogBuffer
    public let maintenance: MaintenanceService
    public let escalation: EscalationService
    public let ussd: UssdSessions
    public let providers: [String: any SMSProvider]
    public let clock: @Sendable () -> Date
    public let logger: Logger

    /// Opens the database (running migrations) and wires the services for `deployment`.
    public static func make(deployment: Deployment, logger: Logger = Logger(label: "tipline"),
                            clock: @escaping @Sendable () -> Date = { Date() }) async throws -> TiplineRuntime {
        let settings = deployment.settings
        let database = try await settings.openDatabase()
        var providers: [String: any SMSProvider] = [:]
        for (name, var channel) in settings.channels {
            if channel.provider == .simulator {
                // The simulator answers on this server's own listening address.
                let host = settings.host == "0.0.0.0" || settings.host == "::" ? "127.0.0.1" : settings.host
                channel.baseURL = "http://\(host):\(settings.port)/simulator"
            }
            providers[name] = makeProvider(channel)
        }
        let client = CurlClient(logger: logger)
        let metrics = TiplineMetrics()
        let channelLog = ChannelLogBuffer()
        let dispatcher = OutboxDispatcher(database: database, providers: providers, client: client, settings: settings.outbox,
                                          clock: clock, metrics: metrics, channelLog: channelLog, logger: logger)
        let holder = DeploymentHolder(deployment)
        let escalation = EscalationService(database: database, deployment: holder, clock: clock, metrics: metrics,
                                           onQueued: { [dispatcher] in dispatcher.wake() }, logger: logger)
        let intake = Intake(deployment: holder, database: database, batcher: WriteBatcher(database: database),
                            clock: clock, onQueued: { [dispatcher] in dispatcher.wake() }, metrics: metrics, onEscalate: { [escalation] in escalation.wake() },
                            logger: logger)
        let ussd = UssdSessions(database: database, deployment: holder, clock: clock, onQueued: { [dispatcher] in dispatcher.wake() },
                                logger: logger)
        let maintenance = MaintenanceService(database: database, channelLog: channelLog, intake: intake, ussd: ussd, settings: settings,
                                             deployment: holder, clock: clock, onQueued: { [dispatcher] in dispatcher.wake() }, logger: logger)
        return TiplineRuntime(deployment: holder, database: database, client: client, dispatcher: dispatcher, intake: intake,
                              simulator: SimulatorInbox(), metrics: metrics, channelLog: channelLog, maintenance: maintenance,
                              escalation: escalation, ussd: ussd,
                              providers: providers, clock: clock, logger: logger)
    }
}

/// The HTTP routes of tipline.
public func buildRouter(_ runtime: TiplineRuntime, templates: MustacheLibrary? = nil) -> Router<TiplineRequestContext> {
    let router = Router(context: TiplineRequestContext.self)
    let settings = runtime.deployment.current.settings
    // First, so it wraps every route (and the not-found answer).
    router.add(middleware: SecurityHeadersMiddleware(deployment: runtime.deployment))
    // One error shape everywhere (webhooks, API, pages): `{"error": "reason"}` with the status.
    router.add(middleware: APIErrorMiddleware())
    ChannelController(providers: runtime.providers, intake: runtime.intake,
                      deliveryReports: DeliveryReports(database: runtime.database, clock: runtime.clock),
                      maxBodyBytes: settings.maxBodyBytes, metrics: runtime.metrics, channelLog: runtime.channelLog,
                      clock: runtime.clock, logger: runtime.logger)
        .addRoutes(to: router)
    HealthController(database: runtime.database, dispatcher: runtime.dispatcher, escalation: runtime.escalation, metrics: runtime.metrics,
                     operatorToken: settings.operatorToken, clock: runtime.clock)
        .addRoutes(to: router, operatorRoutes: settings.operatorListen == nil)
    ReportsAPIController(database: runtime.database, deployment: runtime.deployment,
                         actions: CaseActions(database: runtime.database, deployment: runtime.deployment, clock: runtime.clock),
                         clock: runtime.clock)
        .addRoutes(to: router)
    if let templates {
        WebController(database: runtime.database, deployment: runtime.deployment,
                      actions: CaseActions(database: runtime.database, deployment: runtime.deployment, clock: runtime.clock),
                      library: templates, simulator: runtime.simulator, intake: runtime.intake, ussd: runtime.ussd,
                      simulatorChannel: settings.channels.values.first { $0.provider == .simulator }?.name,
                      channelLog: runtime.channelLog, clock: runtime.clock, logger: runtime.logger)
            .addRoutes(to: router)
    }
    let ussd = UssdController(channels: settings.ussdChannels, sessions: runtime.ussd, channelLog: runtime.channelLog, clock: runtime.clock,
                              logger: runtime.logger)
    ussd.addRoutes(to: router)
    if settings.training.enabled {
        SimulatorController(inbox: runtime.simulator, intake: runtime.intake,
                            channel: settings.channels.values.first { $0.provider == .simulator }, ussd: ussd,
                            access: TrainingAccess(database: runtime.database, roles: settings.training.roles, clock: runtime.clock))
            .addRoutes(to: router)
    }
    return router
}

/// The routes of the operator listener (`server.operator_listen`): the health checks and `/metrics` only.
public func buildOperatorRouter(_ runtime: TiplineRuntime) -> Router<TiplineRequestContext> {
    let router = Router(context: TiplineRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware(deployment: runtime.deployment))
    HealthController(database: runtime.database, dispatcher: runtime.dispatcher, escalation: runtime.escalation, metrics: runtime.metrics,
                     operatorToken: runtime.deployment.current.settings.operatorToken, clock: runtime.clock)
        .addRoutes(to: router)
    return router
}

/// The tipline application: HTTP server, outbox dispatcher and HTTP client, with graceful shutdown in that order.
public func buildApplication(_ runtime: TiplineRuntime, port: Int? = nil,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> some ApplicationProtocol {
    let settings = runtime.deployment.current.settings
    var app = Application(
        router: buildRouter(runtime, templates: try await WebController.loadLibrary()),
        configuration: .init(address: .hostname(settings.host, port: port ?? settings.port), serverName: "tipline"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: runtime.logger
    )
    // Services stop in reverse order: the server first (no new webhooks), then upkeep, the dispatcher, the client.
    app.addServices(runtime.client, runtime.dispatcher, runtime.escalation, runtime.maintenance,
                    ReloadService(deployment: runtime.deployment, logger: runtime.logger))
    if let listen = settings.operatorListen {
        // Last, so it stops right after the main server.
        app.addServices(Application(router: buildOperatorRouter(runtime),
                                    configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "tipline"),
                                    logger: runtime.logger))
    }
    return app
}
