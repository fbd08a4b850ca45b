import Foundation
import Logging
import PipelineCommon

/// Checks, for real, every part the configuration names: object store, manifest store,
/// MLflow, Label Studio, staging root and the C libraries. Each check says what is wrong
/// and how to fix it; none of them prints a secret.
public struct Doctor: Sendable {
    public let configuration: PipelineConfiguration
    private let http: HTTPClient
    private let logger: Logger

    public init(configuration: PipelineConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // Fail fast: a doctor should answer in seconds, not wait out long retries.
        self.http = HTTPClient(
            configuration: .init(
                connectTimeout: .seconds(3), timeout: .seconds(15), retryPolicy: RetryPolicy(maxAttempts: 2),
                caBundle: configuration.http.caBundle),
            logger: logger)
    }

    /// Runs every check concurrently and returns them in a fixed order.
    public func run() async -> [DoctorCheck] {
        await withTaskGroup(of: (Int, DoctorCheck).self) { group in
            group.addTask { (0, await checkObjectStore()) }
            group.addTask { (1, await checkManifestStore()) }
            group.addTask { (2, await checkMLflow()) }
            group.addTask { (3, await checkLabelStudio()) }
            group.addTask { (4, await checkStaging()) }
            group.addTask { (5, checkLibraries()) }
            var results: [(Int, DoctorCheck)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    // MARK: - Object store

    func checkObjectStore() async -> DoctorCheck {
        let part = "object store"
        switch configuration.objectStore.location {
        case .file(let directory):
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let probe = directory + "/.pipeline-doctor-\(getpid())"
                guard FileManager.default.createFile(atPath: probe, contents: Data("ok".utf8)) else {
                    return DoctorCheck(
                        part: part, status: .fail, summary: "file://\(directory) is not writable",
                        fix: "fix the directory's permissions or set object_store.url / PIPELINE_OBJECT_STORE_URL")
                }
                try FileManager.default.removeItem(atPath: probe)
                return DoctorCheck(part: part, status: .pass, summary: "file://\(directory) is writable")
            } catch {
                return DoctorCheck(
                    part: part, status: .fail,
                    summary: "file://\(directory) cannot be created: \(error.localizedDescription)",
                    fix: "create the directory or set object_store.url / PIPELINE_OBJECT_STORE_URL")
            }
        case .s3(let bucket, let prefix):
            return await checkS3(bucket: bucket, prefix: prefix)
        }
    }

    private func checkS3(bucket: String, prefix: String) async -> DoctorCheck {
        let part = "object store"
        let settings = configuration.objectStore
        let where_ =
            "s3://\(bucket)/\(prefix)" + (settings.endpoint.map { " at \(Redaction.url($0.absoluteString))" } ?? "")
        let store: S3ObjectStore
        do {
            store = try ObjectStoreFactory.makeS3(
                configuration, bucket: bucket, prefix: prefix, http: http, logger: logger)
        } catch {
            return DoctorCheck(
                part: part, status: .fail, summary: "\(where_): no credentials configured",
                fix:
                    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile in ~/.aws/credentials"
            )
        }
        // Listing one key proves reachability, credentials and list permission at once.
        do {
            _ = try await store.list(prefix: "", delimiter: nil, startAfter: nil, continuation: nil, maxKeys: 1)
            return DoctorCheck(
                part: part, status: .pass,
                summary: "\(where_): reachable, \(store.signer.credentials) accepted, bucket listed")
        } catch let failure as ObjectStoreError {
            let fix: String
            switch failure.kind {
            case .invalidCredentials:
                fix = "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) for this endpoint"
            case .accessDenied: fix = "grant this key s3:ListBucket on \(bucket)"
            case .noSuchBucket: fix = "create the bucket \(bucket), or point object_store.url at an existing one"
            case .transport:
                fix = "start the S3 server, or set AWS_ENDPOINT_URL_S3 / object_store.endpoint to where it runs"
            default:
                fix =
                    failure.code == "PermanentRedirect" || failure.code == "AuthorizationHeaderMalformed"
                    ? "set object_store.region / AWS_REGION to the bucket's region"
                    : "see the server's message; check object_store.endpoint and region"
            }
            let what = failure.kind == .transport ? failure.message : (failure.code ?? "HTTP \(failure.status ?? 0)")
            return DoctorCheck(
                part: part, status: .fail, summary: "\(where_): \(what) (\(store.signer.credentials))", fix: fix)
        } catch {
            return DoctorCheck(part: part, status: .fail, summary: "\(where_): \(error)", fix: "check object_store.url")
        }
    }

    // MARK: - Manifest store

    func checkManifestStore() async -> DoctorCheck {
        let part = "manifest store"
        let latest = ManifestStoreFactory.latestSchemaVersion(configuration)
        do {
            // One store, one connection: the same one the schema version is read through.
            let detail: String
            let schema: Int
            switch configuration.manifest.location {
            case .postgres(let uri):
                // Answer in seconds: a doctor should not wait out the usual 10 s connect timeout.
                let quick =
                    uri.value.contains("connect_timeout")
                    ? uri.value : uri.value + (uri.value.contains("?") ? "&" : "?") + "connect_timeout=5"
                let store = PostgresManifestStore(uri: Secret(quick), poolSize: 1)
                let version = try await store.pool.withConnection { try await $0.serverVersion() }
                detail = "connected, " + version.split(separator: " ").prefix(2).joined(separator: " ")
                schema = try await store.schemaVersion()
            case .sqlite(let path):
                let store = try await SQLiteManifestStore.open(path: path)
                let mode = try await store.database.query("PRAGMA journal_mode").first?.first?.text ?? "?"
                detail = "opened (SQLite \(SQLiteDatabase.libraryVersion), journal \(mode))"
                schema = try await store.schemaVersion()
            }
            let summary = "\(configuration.manifest.location): \(detail), schema \(schema) of \(latest)"
            if schema < latest {
                return DoctorCheck(
                    part: part, status: .warn, summary: summary,
                    fix: "run `pipelinectl migrate` (stages also migrate when they start)")
            }
            return DoctorCheck(part: part, status: .pass, summary: summary)
        } catch {
            let fix: String
            switch configuration.manifest.location {
            case .postgres:
                fix =
                    "start PostgreSQL or fix PIPELINE_MANIFEST_URL / manifest.url (host, port, user, password, database)"
            case .sqlite: fix = "make the directory writable or set PIPELINE_MANIFEST_URL / manifest.url"
            }
            return DoctorCheck(part: part, status: .fail, summary: "\(error)", fix: fix)
        }
    }

    // MARK: - MLflow and Label Studio

    func checkMLflow() async -> DoctorCheck {
        let part = "mlflow"
        let settings = configuration.mlflow
        let base = settings.trackingURI.absoluteString.trimmingSuffix("/")
        guard let url = URL(string: base + "/api/2.0/mlflow/experiments/search?max_results=1") else {
            return DoctorCheck(
                part: part, status: .fail, summary: "bad tracking URI \(Redaction.url(base))",
                fix: "fix MLFLOW_TRACKING_URI")
        }
        var headers = HTTPHeaders()
        if let token = settings.token {
            headers.add("Authorization", "Bearer \(token.value)")
        } else if let user = settings.username, let password = settings.password {
            headers.add("Authorization", "Basic " + Data("\(user):\(password.value)".utf8).base64EncodedString())
        }
        do {
            let response = try await http.execute(HTTPRequest(url: url, headers: headers))
            switch response.status {
            case 200:
                return DoctorCheck(part: part, status: .pass, summary: "\(Redaction.url(base)): tracking API answered")
            case 401, 403:
                return DoctorCheck(
                    part: part, status: .fail,
                    summary: "\(Redaction.url(base)): credentials rejected (HTTP \(response.status))",
                    fix: "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD")
            default:
                return DoctorCheck(
                    part: part, status: .fail,
                    summary: "\(Redaction.url(base)): HTTP \(response.status) from the tracking API",
                    fix: "check that MLFLOW_TRACKING_URI points at an MLflow tracking server")
            }
        } catch {
            return DoctorCheck(
                part: part, status: .fail, summary: "\(error)",
                fix: "start MLflow (scripts/services.sh up mlflow) or set MLFLOW_TRACKING_URI to where it runs")
        }
    }

    func checkLabelStudio() async -> DoctorCheck {
        let part = "label studio"
        guard let base = configuration.labelStudio.url?.absoluteString.trimmingSuffix("/") else {
            return DoctorCheck(
                part: part, status: .skip, summary: "not configured (LABEL_STUDIO_URL unset); task files only")
        }
        let path = configuration.labelStudio.apiKey == nil ? "/health" : "/api/projects?page_size=1"
        guard let url = URL(string: base + path) else {
            return DoctorCheck(
                part: part, status: .fail, summary: "bad URL \(Redaction.url(base))", fix: "fix LABEL_STUDIO_URL")
        }
        var headers = HTTPHeaders()
        if let key = configuration.labelStudio.apiKey { headers.add("Authorization", "Token \(key.value)") }
        do {
            let response = try await http.execute(HTTPRequest(url: url, headers: headers))
            if response.isSuccess {
                return DoctorCheck(
                    part: part, status: .pass,
                    summary: "\(Redaction.url(base)): reachable"
                        + (configuration.labelStudio.apiKey == nil ? "" : ", API key accepted"))
            }
            return DoctorCheck(
                part: part, status: .fail, summary: "\(Redaction.url(base)): HTTP \(response.status)",
                fix: response.status == 401 ? "check LABEL_STUDIO_API_KEY (a legacy token)" : "check LABEL_STUDIO_URL")
        } catch {
            return DoctorCheck(
                part: part, status: .fail, summary: "\(error)", fix: "start Label Studio or fix LABEL_STUDIO_URL")
        }
    }

    // MARK: - Staging and libraries

    func checkStaging() async -> DoctorCheck {
        let part = "staging"
        let root = configuration.staging.root
        let reserve = configuration.staging.reserveBytes
        do {
            return try await BlockingPools.files.runIfActive {
                do {
                    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                } catch {
                    return DoctorCheck(
                        part: part, status: .fail, summary: "\(root) does not exist and cannot be created",
                        fix: "create it (mount the NVMe device there) or set PIPELINE_STAGING_ROOT / staging.root")
                }
                let speed: Double
                do {
                    speed = try FileSystemProbe.writeSpeed(in: root)
                } catch {
                    return DoctorCheck(
                        part: part, status: .fail, summary: "\(root) is not writable: \(error)",
                        fix: "fix permissions of \(root) or set PIPELINE_STAGING_ROOT")
                }
                let space = try FileSystemProbe.space(at: root)
                let device = FileSystemProbe.blockDevice(of: root)
                let facts =
                    "\(Self.gib(space.freeBytes)) free of \(Self.gib(space.totalBytes)), "
                    + "writes \(Int(speed)) MiB/s synced, device \(device ?? "none")"
                if space.freeBytes < reserve {
                    return DoctorCheck(
                        part: part, status: .fail, summary: "\(root): \(facts); below the \(Self.gib(reserve)) reserve",
                        fix: "free space on \(root), lower staging.reserve_mib, or use a larger volume")
                }
                if let device, FileSystemProbe.isNVMe(device) {
                    return DoctorCheck(part: part, status: .pass, summary: "\(root): \(facts) (NVMe)")
                }
                return DoctorCheck(
                    part: part, status: .warn, summary: "\(root): \(facts); not on an NVMe device",
                    fix: "for speed, mount a local NVMe device at \(root)")
            }
        } catch {
            return DoctorCheck(part: part, status: .fail, summary: "\(root): \(error)", fix: "check the staging root")
        }
    }

    func checkLibraries() -> DoctorCheck {
        guard VipsRuntime.start() else {
            return DoctorCheck(
                part: "libraries", status: .fail, summary: "libvips failed to initialise",
                fix: "reinstall libvips (apt-get install libvips-dev)")
        }
        return DoctorCheck(
            part: "libraries", status: .pass,
            summary:
                "\(HTTPClient.libcurlVersion); libvips \(VipsRuntime.version); SQLite \(SQLiteDatabase.libraryVersion)")
    }

    static func gib(_ bytes: UInt64) -> String {
        String(format: "%.1f GiB", Double(bytes) / 1_073_741_824)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
