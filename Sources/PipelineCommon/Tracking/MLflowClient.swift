import Foundation
import Logging

/// MLflow's REST API (2.0) over the project's HTTP client: experiments, runs, batched
/// logging, artifacts (through the `mlflow-artifacts` proxy, or straight into an `s3://`
/// artifact root through the object store), registered models, versions and aliases.
///
/// Auth follows MLflow's own variables: `MLFLOW_TRACKING_TOKEN` (Bearer), or
/// `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD` (Basic).
public struct MLflowClient: Sendable {
    /// MLflow's limits for one `runs/log-batch` call.
    public static let maxMetricsPerBatch = 1000
    public static let maxParamsPerBatch = 100
    public static let maxTagsPerBatch = 100

    public let trackingURI: URL
    private let base: String
    private let http: HTTPClient
    private let authorization: Secret?
    /// For `s3://` artifact roots; nil when artifacts go through the proxy only.
    private let artifactStore: (any ObjectStore)?

    public init(settings: PipelineConfiguration.MLflow, http: HTTPClient, artifactStore: (any ObjectStore)? = nil) {
        self.trackingURI = settings.trackingURI
        var base = settings.trackingURI.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.http = http
        self.artifactStore = artifactStore
        if let token = settings.token {
            authorization = Secret("Bearer \(token.value)")
        } else if let user = settings.username, let password = settings.password {
            authorization = Secret("Basic " + Data("\(user):\(password.value)".utf8).base64EncodedString())
        } else {
            authorization = nil
        }
    }

    // MARK: - Experiments

    public struct Experiment: Sendable, Decodable, Equatable {
        public let experimentId: String
        public let name: String
        public let artifactLocation: String?
        public let lifecycleStage: String?
    }

    /// The experiment called `name`, created (with `artifactLocation`, if given) when missing.
    public func experiment(named name: String, artifactLocation: String? = nil) async throws -> Experiment {
        if let existing = try await experimentIfExists(named: name) { return existing }
        struct Created: Decodable { let experimentId: String }
        struct Body: Encodable {
            let name: String
            let artifactLocation: String?
        }
        do {
            let created: Created = try await call(
                "POST", "experiments/create", body: Body(name: name, artifactLocation: artifactLocation),
                idempotent: false)
            _ = created
        } catch let error as MLflowError where error.code == "RESOURCE_ALREADY_EXISTS" {
            // Another process created it a moment ago.
        }
        guard let experiment = try await experimentIfExists(named: name) else {
            throw MLflowError(status: 404, code: "RESOURCE_DOES_NOT_EXIST", message: "experiment \(name) vanished")
        }
        return experiment
    }

    public func experimentIfExists(named name: String) async throws -> Experiment? {
        struct Response: Decodable { let experiment: Experiment }
        do {
            let response: Response = try await call(
                "GET", "experiments/get-by-name", query: ["experiment_name": name])
            return response.experiment
        } catch let error as MLflowError where error.code == "RESOURCE_DOES_NOT_EXIST" {
            return nil
        }
    }

    // MARK: - Runs

    public struct Run: Sendable, Decodable, Equatable {
        public struct Info: Sendable, Decodable, Equatable {
            public let runId: String
            public let experimentId: String
            public let status: String
            public let artifactUri: String
            public let runName: String?
        }
        public struct Data: Sendable, Decodable, Equatable {
            public let metrics: [Metric]?
            public let params: [Param]?
            public let tags: [Param]?
        }
        public let info: Info
        public let data: Data?
    }

    public struct Metric: Sendable, Codable, Equatable {
        public let key: String
        public let value: Double
        public let timestamp: Int64
        public let step: Int64

        public init(key: String, value: Double, timestamp: Int64 = MLflowClient.now(), step: Int64 = 0) {
            self.key = key
            self.value = value
            self.timestamp = timestamp
            self.step = step
        }
    }

    public struct Param: Sendable, Decodable, Equatable {
        public let key: String
        public let value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public enum RunStatus: String, Sendable {
        case running = "RUNNING", finished = "FINISHED", failed = "FAILED", killed = "KILLED"
    }

    public func createRun(experimentId: String, name: String?, tags: [String: String] = [:]) async throws -> Run {
        struct Response: Decodable { let run: Run }
        struct Body: Encodable {
            let experimentId: String
            let startTime: Int64
            let tags: [Tag]
            let runName: String?
        }
        let response: Response = try await call(
            "POST", "runs/create",
            body: Body(experimentId: experimentId, startTime: Self.now(), tags: Tag.list(tags), runName: name),
            idempotent: false)
        return response.run
    }

    public func run(_ runId: String) async throws -> Run {
        struct Response: Decodable { let run: Run }
        let response: Response = try await call("GET", "runs/get", query: ["run_id": runId])
        return response.run
    }

    /// Logs everything in as few `log-batch` calls as MLflow's limits allow.
    public func logBatch(
        runId: String, metrics: [Metric] = [], params: [String: String] = [:], tags: [String: String] = [:]
    ) async throws {
        var metrics = metrics[...]
        var params = params.sorted { $0.key < $1.key }[...]
        var tags = tags.sorted { $0.key < $1.key }[...]
        repeat {
            let metricChunk = metrics.prefix(Self.maxMetricsPerBatch)
            metrics = metrics.dropFirst(metricChunk.count)
            // MLflow also caps the total at 1000 entities a call.
            let room = max(0, 1000 - metricChunk.count)
            let paramChunk = params.prefix(min(Self.maxParamsPerBatch, room))
            params = params.dropFirst(paramChunk.count)
            let tagChunk = tags.prefix(min(Self.maxTagsPerBatch, max(0, room - paramChunk.count)))
            tags = tags.dropFirst(tagChunk.count)
            struct Body: Encodable {
                let runId: String
                let metrics: [Metric]
                let params: [Tag]
                let tags: [Tag]
            }
            // Not idempotent: a metric point sent twice is recorded twice.
            let _: Empty = try await call(
                "POST", "runs/log-batch",
                body: Body(
                    runId: runId, metrics: Array(metricChunk),
                    params: paramChunk.map { Tag(key: $0.key, value: String($0.value.prefix(6000))) },
                    tags: tagChunk.map { Tag(key: $0.key, value: $0.value) }),
                idempotent: false)
        } while !metrics.isEmpty || !params.isEmpty || !tags.isEmpty
    }

    public func setTerminated(runId: String, status: RunStatus) async throws {
        struct Body: Encodable {
            let runId: String
            let status: String
            let endTime: Int64
        }
        let _: Empty = try await call(
            "POST", "runs/update", body: Body(runId: runId, status: status.rawValue, endTime: Self.now()),
            idempotent: true)
    }

    /// The runs of an experiment, newest first (at most 1 000), those matching `filter` (MLflow's
    /// search syntax, e.g. `attributes.status = 'RUNNING'`) when one is given.
    public func searchRuns(experimentId: String, filter: String? = nil) async throws -> [Run] {
        struct Response: Decodable { let runs: [Run]? }
        struct Body: Encodable {
            let experimentIds: [String]
            let maxResults: Int
            let filter: String?
        }
        let response: Response = try await call(
            "POST", "runs/search", body: Body(experimentIds: [experimentId], maxResults: 1000, filter: filter),
            idempotent: true)
        return response.runs ?? []
    }

    public func metricHistory(runId: String, key: String) async throws -> [Metric] {
        struct Response: Decodable { let metrics: [Metric]? }
        let response: Response = try await call(
            "GET", "metrics/get-history", query: ["run_id": runId, "metric_key": key])
        return response.metrics ?? []
    }

    // MARK: - Artifacts

    /// Uploads the file at `path` as `artifactPath` of the run, streamed.
    public func logArtifact(run: Run, path: String, artifactPath: String) async throws {
        let root = run.info.artifactUri
        if root.hasPrefix("mlflow-artifacts:") {
            let url = try artifactURL(root: root, artifactPath: artifactPath)
            let response = try await http.execute(
                HTTPRequest(
                    method: "PUT", url: url, headers: headers(contentType: MediaType.forPath(artifactPath)),
                    body: .file(path: path)))
            try Self.check(response, operation: "upload artifact \(artifactPath)")
        } else if root.hasPrefix("s3://"), let store = artifactStore {
            let key = try s3Key(root: root, artifactPath: artifactPath, store: store)
            _ = try await store.put(key, fromFile: path, contentType: MediaType.forPath(artifactPath), sha256: nil)
        } else {
            throw MLflowError(
                status: 0, code: "UNSUPPORTED_ARTIFACT_ROOT",
                message:
                    "run artifact root \(root) is neither mlflow-artifacts: (start MLflow with --serve-artifacts) nor an s3:// root in the configured object store"
            )
        }
    }

    /// Downloads artifact `artifactPath` of the run to `path`.
    public func downloadArtifact(run: Run, artifactPath: String, to path: String) async throws {
        let root = run.info.artifactUri
        if root.hasPrefix("mlflow-artifacts:") {
            let url = try artifactURL(root: root, artifactPath: artifactPath)
            let response = try await http.execute(
                HTTPRequest(url: url, headers: headers(contentType: nil)), sink: .file(path: path))
            try Self.check(response, operation: "download artifact \(artifactPath)")
        } else if root.hasPrefix("s3://"), let store = artifactStore {
            _ = try await store.get(try s3Key(root: root, artifactPath: artifactPath, store: store), to: path)
        } else {
            throw MLflowError(
                status: 0, code: "UNSUPPORTED_ARTIFACT_ROOT", message: "cannot read artifacts from \(root)")
        }
    }

    /// Downloads an artifact named by a full URI (`mlflow-artifacts:/…` or `runs:/<run>/<path>`).
    public func downloadArtifact(uri: String, to path: String) async throws {
        if uri.hasPrefix("runs:/") {
            let rest = uri.dropFirst("runs:/".count)
            guard let slash = rest.firstIndex(of: "/") else {
                throw MLflowError(status: 0, code: "INVALID_PARAMETER_VALUE", message: "\(uri) names no artifact")
            }
            let run = try await run(String(rest[..<slash]))
            try await downloadArtifact(run: run, artifactPath: String(rest[rest.index(after: slash)...]), to: path)
            return
        }
        let url = try artifactURL(root: uri, artifactPath: "")
        let response = try await http.execute(
            HTTPRequest(url: url, headers: headers(contentType: nil)), sink: .file(path: path))
        try Self.check(response, operation: "download \(uri)")
    }

    private func artifactURL(root: String, artifactPath: String) throws -> URL {
        var path = String(root.dropFirst("mlflow-artifacts:".count))
        while path.hasPrefix("/") { path.removeFirst() }
        if !artifactPath.isEmpty { path += "/" + artifactPath }
        let encoded = URIEncoding.encode(path, keepSlash: true)
        guard let url = URL(string: "\(base)/api/2.0/mlflow-artifacts/artifacts/\(encoded)") else {
            throw MLflowError(status: 0, code: "INVALID_PARAMETER_VALUE", message: "bad artifact path \(path)")
        }
        return url
    }

    private func s3Key(root: String, artifactPath: String, store: any ObjectStore) throws -> String {
        guard case .s3(let bucket, let prefix) = store.location,
            let components = URLComponents(string: root), components.host == bucket
        else {
            throw MLflowError(
                status: 0, code: "UNSUPPORTED_ARTIFACT_ROOT", message: "\(root) is not in \(store.location)")
        }
        var key = components.path
        while key.hasPrefix("/") { key.removeFirst() }
        guard key.hasPrefix(prefix) else {
            throw MLflowError(
                status: 0, code: "UNSUPPORTED_ARTIFACT_ROOT", message: "\(root) is outside \(store.location)")
        }
        return String(key.dropFirst(prefix.count)) + "/" + artifactPath
    }

    // MARK: - Registry

    public struct RegisteredModel: Sendable, Decodable, Equatable {
        public struct Alias: Sendable, Decodable, Equatable {
            public let alias: String
            public let version: String
        }
        public let name: String
        public let aliases: [Alias]?
        public let latestVersions: [ModelVersion]?
    }

    public struct ModelVersion: Sendable, Decodable, Equatable {
        public let name: String
        public let version: String
        public let source: String?
        public let runId: String?
        public let status: String?
        public let tags: [Param]?
        public let aliases: [String]?
    }

    /// The registered model `name`, created when missing.
    public func registeredModel(named name: String) async throws -> RegisteredModel {
        struct Response: Decodable { let registeredModel: RegisteredModel }
        do {
            let response: Response = try await call("GET", "registered-models/get", query: ["name": name])
            return response.registeredModel
        } catch let error as MLflowError where error.code == "RESOURCE_DOES_NOT_EXIST" {
            do {
                let created: Response = try await call(
                    "POST", "registered-models/create", body: ["name": name], idempotent: false)
                return created.registeredModel
            } catch let error as MLflowError where error.code == "RESOURCE_ALREADY_EXISTS" {
                let response: Response = try await call("GET", "registered-models/get", query: ["name": name])
                return response.registeredModel
            }
        }
    }

    public func getRegisteredModel(_ name: String) async throws -> RegisteredModel {
        struct Response: Decodable { let registeredModel: RegisteredModel }
        let response: Response = try await call("GET", "registered-models/get", query: ["name": name])
        return response.registeredModel
    }

    public func searchRegisteredModels() async throws -> [RegisteredModel] {
        struct Response: Decodable { let registeredModels: [RegisteredModel]? }
        let response: Response = try await call("GET", "registered-models/search", query: ["max_results": "1000"])
        return response.registeredModels ?? []
    }

    /// Registers `source` (an artifact URI of `runId`) as a new version, then waits until it is READY.
    public func createModelVersion(
        name: String, source: String, runId: String, tags: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> ModelVersion {
        struct Response: Decodable { let modelVersion: ModelVersion }
        struct Body: Encodable {
            let name: String
            let source: String
            let runId: String
            let tags: [Tag]
        }
        let response: Response = try await call(
            "POST", "model-versions/create",
            body: Body(name: name, source: source, runId: runId, tags: Tag.list(tags)), idempotent: false)
        var version = response.modelVersion
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while version.status == "PENDING_REGISTRATION" {
            guard clock.now < deadline else {
                throw MLflowError(
                    status: 0, code: "TIMEOUT", message: "model \(name) version \(version.version) is not READY")
            }
            try await Task.sleep(for: .milliseconds(200))
            version = try await modelVersion(name: name, version: version.version)
        }
        guard version.status == nil || version.status == "READY" else {
            throw MLflowError(
                status: 0, code: "REGISTRATION_FAILED",
                message: "model \(name) version \(version.version) is \(version.status ?? "?")")
        }
        return version
    }

    public func modelVersion(name: String, version: String) async throws -> ModelVersion {
        struct Response: Decodable { let modelVersion: ModelVersion }
        let response: Response = try await call(
            "GET", "model-versions/get", query: ["name": name, "version": version])
        return response.modelVersion
    }

    public func searchModelVersions(name: String) async throws -> [ModelVersion] {
        struct Response: Decodable { let modelVersions: [ModelVersion]? }
        let escaped = name.replacingOccurrences(of: "'", with: "\\'")
        let response: Response = try await call(
            "GET", "model-versions/search", query: ["filter": "name='\(escaped)'", "max_results": "1000"])
        return (response.modelVersions ?? []).sorted { (Int($0.version) ?? 0) > (Int($1.version) ?? 0) }
    }

    public func setAlias(name: String, alias: String, version: String) async throws {
        let _: Empty = try await call(
            "POST", "registered-models/alias", body: ["name": name, "alias": alias, "version": version],
            idempotent: true)
    }

    /// The version behind `alias`, or nil when the alias is not set.
    public func version(name: String, alias: String) async throws -> ModelVersion? {
        struct Response: Decodable { let modelVersion: ModelVersion }
        do {
            let response: Response = try await call(
                "GET", "registered-models/alias", query: ["name": name, "alias": alias])
            return response.modelVersion
        } catch let error as MLflowError
            where error.code == "RESOURCE_DOES_NOT_EXIST" || error.code == "INVALID_PARAMETER_VALUE"
        {
            // A missing alias on an existing model is RESOURCE_DOES_NOT_EXIST; some servers say INVALID_PARAMETER_VALUE.
            if error.message.lowercased().contains("registered model") && !error.message.lowercased().contains("alias")
            {
                throw error
            }
            return nil
        }
    }

    public func deleteAlias(name: String, alias: String) async throws {
        let _: Empty = try await call(
            "DELETE", "registered-models/alias", body: ["name": name, "alias": alias], idempotent: true)
    }

    // MARK: - Transport

    struct Empty: Decodable {}

    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Request bodies: MLflow's snake_case keys, sorted (a body reads the same every time).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private func headers(contentType: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let authorization { headers.add("Authorization", authorization.value) }
        if let contentType { headers.add("Content-Type", contentType) }
        return headers
    }

    /// A `{"key": …, "value": …}` pair: a tag or a param.
    struct Tag: Encodable {
        let key: String
        let value: String

        static func list(_ tags: [String: String]) -> [Tag] {
            tags.sorted { $0.key < $1.key }.map { Tag(key: $0.key, value: $0.value) }
        }
    }

    /// A bodiless call (GET, with its query): reads are idempotent.
    private func call<T: Decodable>(_ method: String, _ endpoint: String, query: [String: String] = [:]) async throws
        -> T
    {
        try await call(method, endpoint, query: query, body: nil as [String: String]?, idempotent: true)
    }

    /// Calls `endpoint` with `body` as JSON (keys in snake_case). `idempotent` says whether the
    /// HTTP client may send it again after a failure it cannot tell was delivered: never for
    /// what creates or appends (a run, a version, a metric point), always for what sets or reads.
    private func call<T: Decodable, Body: Encodable>(
        _ method: String, _ endpoint: String, query: [String: String] = [:], body: Body?, idempotent: Bool
    ) async throws -> T {
        var url = "\(base)/api/2.0/mlflow/\(endpoint)"
        if !query.isEmpty {
            url +=
                "?"
                + query.sorted { $0.key < $1.key }.map {
                    URIEncoding.encode($0.key, keepSlash: false) + "=" + URIEncoding.encode($0.value, keepSlash: false)
                }.joined(separator: "&")
        }
        guard let target = URL(string: url) else {
            throw MLflowError(status: 0, code: "INVALID_PARAMETER_VALUE", message: "bad URL for \(endpoint)")
        }
        var request = HTTPRequest(
            method: method, url: target, headers: headers(contentType: body == nil ? nil : "application/json"))
        if let body { request.body = .bytes(try Self.encoder.encode(body)) }
        if !idempotent { request.retryPolicy = RetryPolicy(maxAttempts: 1) }
        let response = try await http.execute(request)
        try Self.check(response, operation: "\(method) \(endpoint)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(T.self, from: response.body.isEmpty ? Data("{}".utf8) : response.body)
        } catch {
            throw MLflowError(
                status: response.status, code: "BAD_RESPONSE", message: "\(endpoint): unexpected response: \(error)")
        }
    }

    private static func check(_ response: HTTPResponse, operation: String) throws {
        guard response.status >= 300 else { return }
        struct Body: Decodable {
            let errorCode: String?
            let message: String?
            enum CodingKeys: String, CodingKey {
                case errorCode = "error_code"
                case message
            }
        }
        let body = try? JSONDecoder().decode(Body.self, from: response.body)
        throw MLflowError(
            status: response.status, code: body?.errorCode ?? "HTTP_\(response.status)",
            message: "\(operation): "
                + (body?.message ?? String(decoding: response.body.prefix(300), as: UTF8.self)))
    }
}

/// An MLflow call that failed: MLflow's `error_code` and message (never credentials).
public struct MLflowError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String
    public var description: String { "MLflow \(code): \(message)" }
}

extension MLflowError: OutageCarrying {
    /// MLflow answering 5xx (its proxy up, the server behind it not) is an outage too.
    public var isOutage: Bool { (500...599).contains(status) }
}
