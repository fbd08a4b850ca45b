import Foundation
import Synchronization

/// A bare HTTP/1.1 server on 127.0.0.1 that answers each request as scripted: with a
/// canned response, by dropping the connection without a word, or by cutting a response
/// off in the middle of its body, which a framework server cannot be made to do. Every
/// connection serves one request and is closed.
final class ScriptedTCPServer: Sendable {
    enum Step: Sendable {
        case drop
        case respond(status: Int, headers: [(String, String)], body: String)
        /// `body` announced whole by Content-Length, but the connection closes after its first
        /// `cutAfter` bytes (all of it when nil).
        case respondBytes(status: Int, headers: [(String, String)], body: [UInt8], cutAfter: Int?)
    }

    let port: Int
    private let listener: Int32
    private let script: Mutex<[Step]>
    private let fallback: Step
    private let handler: (@Sendable (_ head: String) -> Step)?
    let requests = Mutex<[String]>([])

    /// Serves `script` in order, then `fallback` for every later request.
    convenience init(script: [Step], fallback: Step) throws {
        try self.init(script: script, fallback: fallback, handler: nil)
    }

    /// Answers each request as `handler` says from its request line and headers.
    convenience init(handler: @escaping @Sendable (_ head: String) -> Step) throws {
        try self.init(script: [], fallback: .drop, handler: handler)
    }

    private init(script: [Step], fallback: Step, handler: (@Sendable (String) -> Step)?) throws {
        self.script = Mutex(script)
        self.fallback = fallback
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            let head = readRequest(connection)
            requests.withLock { $0.append(head.components(separatedBy: "\r\n").first ?? head) }
            let step = handler?(head) ?? script.withLock { $0.isEmpty ? fallback : $0.removeFirst() }
            switch step {
            case .drop: break
            case .respond(let status, let headers, let body):
                respond(connection, status: status, headers: headers, body: Array(body.utf8), cutAfter: nil)
            case .respondBytes(let status, let headers, let body, let cutAfter):
                respond(connection, status: status, headers: headers, body: body, cutAfter: cutAfter)
            }
            close(connection)
        }
    }

    private func respond(_ connection: Int32, status: Int, headers: [(String, String)], body: [UInt8], cutAfter: Int?) {
        var text = "HTTP/1.1 \(status) Scripted\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        let bytes = Array((text + "\r\n").utf8) + body.prefix(cutAfter ?? body.count)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Reads the request line, headers and a Content-Length body; returns the request line
    /// and headers.
    private func readRequest(_ connection: Int32) -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var needed = Int.max
        while data.count < needed {
            let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            data.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = data.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                headerEnd = end
                let head = String(decoding: data[0..<end], as: UTF8.self).lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                needed = end + length
            }
        }
        let end = data.firstRange(of: Array("\r\n\r\n".utf8))?.lowerBound ?? data.count
        return String(decoding: data[0..<end], as: UTF8.self)
    }
}
