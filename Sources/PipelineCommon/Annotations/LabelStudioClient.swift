import Foundation

/// The parts of Label Studio's API the pipeline uses: importing tasks (with predictions)
/// into a project, and reading a project's tasks back. Auth: `Authorization: Token <key>`.
public struct LabelStudioClient: Sendable {
    let base: String
    let token: Secret
    let http: HTTPClient

    public init?(settings: PipelineConfiguration.LabelStudio, http: HTTPClient) {
        guard let url = settings.url, let key = settings.apiKey else { return nil }
        var base = url.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.token = key
        self.http = http
    }

    /// Imports the tasks (a JSON list) into project `id`; returns how many Label Studio took.
    public func importTasks(project id: Int, tasks: Data) async throws -> Int {
        let response = try await send("POST", "/api/projects/\(id)/import", body: tasks)
        struct Imported: Decodable {
            let taskCount: Int?
            enum CodingKeys: String, CodingKey { case taskCount = "task_count" }
        }
        return (try? JSONDecoder().decode(Imported.self, from: response))?.taskCount ?? 0
    }

    /// Creates a project with `labelConfig` (see ``LabelingConfig``); returns its id.
    public func createProject(title: String, labelConfig: String) async throws -> Int {
        let body = try JSONSerialization.data(withJSONObject: ["title": title, "label_config": labelConfig])
        let response = try await send("POST", "/api/projects", body: body)
        guard let object = try? JSONSerialization.jsonObject(with: response) as? [String: Any],
            let id = object["id"] as? Int
        else { throw LabelStudioError(status: 0, message: "project creation answered without an id") }
        return id
    }

    /// The raw JSON of the project's tasks.
    public func tasks(project id: Int) async throws -> Data {
        try await send("GET", "/api/tasks?project=\(id)&page_size=1000&fields=all", body: nil)
    }

    private func send(_ method: String, _ path: String, body: Data?) async throws -> Data {
        guard let url = URL(string: base + path) else {
            throw LabelStudioError(status: 0, message: "bad URL \(base)\(path)")
        }
        var headers = HTTPHeaders()
        headers.add("Authorization", "Token \(token.value)")
        if body != nil { headers.add("Content-Type", "application/json") }
        let response = try await http.execute(
            HTTPRequest(
                method: method, url: url, headers: headers, body: body.map { .bytes($0) } ?? .empty,
                retryPolicy: method == "POST" ? .never : nil))
        guard response.status < 300 else {
            throw LabelStudioError(
                status: response.status,
                message:
                    "\(method) \(path): HTTP \(response.status) \(String(decoding: response.body.prefix(300), as: UTF8.self))"
            )
        }
        return response.body
    }
}

public struct LabelStudioError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    public var description: String { "Label Studio: \(message)" }
}
