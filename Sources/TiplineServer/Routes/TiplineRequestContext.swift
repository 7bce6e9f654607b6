import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basics plus the peer address (for source allow-lists).
public struct TiplineRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
