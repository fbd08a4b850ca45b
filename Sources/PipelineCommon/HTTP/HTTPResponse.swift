import Foundation

/// A response: status, headers, and the body when it was collected in memory.
public struct HTTPResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    /// The body for a memory sink, or for an error response (status ≥ 300) with a file sink.
    public let body: Data
    /// Bytes written to the file of a file sink.
    public let bytesWritten: UInt64
    /// How many attempts it took, retries included.
    public let attempts: Int
    /// New connections opened for the final attempt (0 when a pooled one was reused).
    public let newConnections: Int

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body as UTF-8 text, for error messages and small JSON bodies.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
