import Foundation
import Hummingbird

/// The headers every response carries, error responses included: a strict Content-Security-Policy (no script at all,
/// styles from tipline's own stylesheet only, no framing, forms post only to tipline), `nosniff`, no referrer, no
/// framing for old browsers, HSTS when the public address is https, and `Cache-Control: no-store` unless the route set
/// its own caching (only the stylesheet does): report pages, the log, API answers and CSV exports never sit in a cache.
///
/// Registered first on the router, so it wraps every route and the not-found answer.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = TiplineRequestContext
    let deployment: DeploymentHolder

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    static let strictTransportSecurity = "max-age=31536000"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            response = Response(status: .internalServerError)
        }
        Self.apply(to: &response.headers, https: deployment.current.settings.publicURL.lowercased().hasPrefix("https://"))
        return response
    }

    static func apply(to headers: inout HTTPFields, https: Bool) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        headers[.xFrameOptions] = "DENY"
        if https { headers[.strictTransportSecurity] = strictTransportSecurity }
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }
}

extension HTTPFields.Element.Name {
    static var referrerPolicy: Self { Self("Referrer-Policy")! }
    static var xFrameOptions: Self { Self("X-Frame-Options")! }
}
