import Hummingbird
import NIOCore
import TiplineStore

/// The request context of every route: Hummingbird's basics plus the peer address (for source allow-lists).
public struct TiplineRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The staff member calling the API or using the web pages, once authenticated.
    public var staff: StaffIdentity?
    /// The web session's CSRF token.
    public var csrf: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
