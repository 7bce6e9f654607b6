import Foundation
import Hummingbird

/// An API error, answered as JSON `{"error": "…"}` with its status.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys])) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns any error a route throws into `{"error": "…"}`: one shape for webhooks, the API and the pages.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            var shaped = APIError(error.status, error.body ?? error.status.reasonPhrase)
            shaped.headers = error.headers // Retry-After on a 503, WWW-Authenticate on a 401
            throw shaped
        } catch let error as CaseActions.Failure {
            switch error {
            case .notFound: throw APIError(.notFound, "no such report")
            case .invalid(let reason): throw APIError(.badRequest, reason)
            case .conflict(let reason): throw APIError(.conflict, reason)
            }
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, error.status.reasonPhrase)
        }
    }
}
