import Foundation
import Logging

// The common sections of the configuration: what every stage and tool shares. Each stage
// defines its own section in its library (see ``ConfigSection``).

extension PipelineConfiguration.ObjectStore: ConfigSection {
    public static let name = "object_store"
    public static let help = "Where images and published manifests live."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "object_store.url", env: ["PIPELINE_OBJECT_STORE_URL"], .url(schemes: ["s3", "file"]),
            default: "file://${DATA_DIR}/objects",
            help: "s3://bucket/prefix for S3 or RustFS; file:///dir for the embedded file store."),
        ConfigKey(
            "object_store.endpoint", env: ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"],
            .url(schemes: ["http", "https"]),
            help: "S3 endpoint for RustFS, MinIO or another S3-compatible server; unset for AWS."),
        ConfigKey(
            "object_store.region", env: ["AWS_REGION", "AWS_DEFAULT_REGION"], .region, default: "us-east-1",
            help: "Region used in request signatures."),
        ConfigKey(
            "object_store.addressing", env: ["PIPELINE_S3_ADDRESSING"], .choice(["auto", "path", "virtual"]),
            default: "auto",
            help: "auto: path-style with a custom endpoint, virtual-hosted on AWS."),
        ConfigKey(
            "object_store.access_key_id", env: ["AWS_ACCESS_KEY_ID"], .text, secret: true,
            help: "Access key; unset to use object_store.profile or ~/.aws/credentials."),
        ConfigKey(
            "object_store.secret_access_key", env: ["AWS_SECRET_ACCESS_KEY"], .text, secret: true,
            help: "Secret key that goes with access_key_id."),
        ConfigKey(
            "object_store.session_token", env: ["AWS_SESSION_TOKEN"], .text, secret: true,
            help: "Session token for temporary credentials."),
        ConfigKey(
            "object_store.profile", env: ["AWS_PROFILE"], .text,
            help: "Profile in ~/.aws/credentials and ~/.aws/config."),
    ]

    public init(_ values: ConfigValues) {
        self.init(
            location: values.parsed("object_store.url") { try? ObjectStoreLocation.parse($0).get() },
            endpoint: values.string("object_store.endpoint").flatMap { URL(string: $0) },
            region: values.text("object_store.region"),
            addressing: values.choice("object_store.addressing"),
            credentials: values.string("object_store.access_key_id").flatMap { id in
                values.string("object_store.secret_access_key").map { secret in
                    AWSCredentials(
                        accessKeyId: id, secretAccessKey: secret,
                        sessionToken: values.string("object_store.session_token"))
                }
            },
            profile: values.string("object_store.profile"))
    }

    public static func problems(in values: ConfigValues) -> [ConfigProblem] {
        var problems = values.requireTogether("object_store.access_key_id", "object_store.secret_access_key")
        if values.string("object_store.session_token") != nil, values.string("object_store.access_key_id") == nil {
            problems.append(
                .init(
                    key: "object_store.access_key_id", found: nil, source: nil,
                    expected: "a value, because object_store.session_token is set"))
        }
        return problems
    }
}

extension PipelineConfiguration.Manifest: ConfigSection {
    public static let name = "manifest"
    public static let help = "The manifest store: dataset versions, items and work claims."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "manifest.url", env: ["PIPELINE_MANIFEST_URL"], .url(schemes: ["postgres", "postgresql", "sqlite"]),
            default: "sqlite://${DATA_DIR}/manifest.db",
            help: "postgres://user:password@host:5432/db, or sqlite:///path/to/manifest.db (embedded)."),
        ConfigKey(
            "manifest.pool_size", env: ["PIPELINE_MANIFEST_POOL_SIZE"], .integer(1...64), default: "4",
            help: "Connections kept open to PostgreSQL."),
        ConfigKey(
            "manifest.max_attempts", env: ["PIPELINE_MAX_ATTEMPTS"], .integer(1...100), default: "5",
            help: "Attempts a work item gets before it is set aside as dead."),
        ConfigKey(
            "manifest.lock_timeout_seconds", env: ["PIPELINE_MANIFEST_LOCK_TIMEOUT"], .integer(1...3600),
            default: "30",
            help: "SQLite: seconds a statement waits while another process holds the database's lock."),
        ConfigKey(
            "manifest.work_retention_hours", env: ["PIPELINE_WORK_RETENTION_HOURS"], .integer(0...87_600),
            default: "168",
            help:
                "Hours finished work items are kept before the stages prune them (0: never); ingest keeps the newest completed version of each object."
        ),
        ConfigKey(
            "manifest.files_prefix", env: ["PIPELINE_MANIFEST_PREFIX"], .text, default: "manifests/",
            help: "Object-store prefix under which each version's manifest.json and manifest.jsonl are written."),
    ]

    public init(_ values: ConfigValues) {
        self.init(
            location: values.parsed("manifest.url") { try? ManifestLocation.parse($0).get() },
            poolSize: values.integer("manifest.pool_size"),
            maxAttempts: values.integer("manifest.max_attempts"),
            lockTimeout: .seconds(values.integer("manifest.lock_timeout_seconds")),
            filesPrefix: values.prefix("manifest.files_prefix"),
            workRetention: Self.retention(hours: values.integer("manifest.work_retention_hours")))
    }

    static func retention(hours: Int) -> Duration? { hours == 0 ? nil : .seconds(hours * 3600) }
}

extension PipelineConfiguration.Staging: ConfigSection {
    public static let name = "staging"
    public static let help = "Local scratch space (NVMe) through which every stage moves its bytes."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "staging.root", env: ["PIPELINE_STAGING_ROOT"], .path, default: "/mnt/nvme",
            help: "Root of the staging area; runs use <root>/<stage>/<run-id>/{in,out}."),
        ConfigKey(
            "staging.reserve_mib", env: ["PIPELINE_STAGING_RESERVE_MIB"], .integer(0...10_485_760), default: "1024",
            help: "Free space (MiB) always left on the staging file system."),
        ConfigKey(
            "staging.keep_on_failure", env: ["PIPELINE_KEEP_STAGING"], .boolean, default: "false",
            help: "Keep a failed run's staging directory for inspection."),
    ]

    public init(_ values: ConfigValues) {
        self.init(
            root: values.text("staging.root"),
            reserveBytes: UInt64(values.integer("staging.reserve_mib")) << 20,
            keepOnFailure: values.flag("staging.keep_on_failure"))
    }
}

extension PipelineConfiguration.MLflow: ConfigSection {
    public static let name = "mlflow"
    public static let help = "MLflow tracking server and model registry."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "mlflow.tracking_uri", env: ["MLFLOW_TRACKING_URI"], .url(schemes: ["http", "https"]),
            default: "http://127.0.0.1:5000",
            help: "MLflow tracking server."),
        ConfigKey(
            "mlflow.token", env: ["MLFLOW_TRACKING_TOKEN"], .text, secret: true,
            help: "Bearer token for the tracking server."),
        ConfigKey(
            "mlflow.username", env: ["MLFLOW_TRACKING_USERNAME"], .text,
            help: "Basic-auth user for the tracking server."),
        ConfigKey(
            "mlflow.password", env: ["MLFLOW_TRACKING_PASSWORD"], .text, secret: true,
            help: "Basic-auth password that goes with mlflow.username."),
        ConfigKey(
            "mlflow.experiment", env: ["MLFLOW_EXPERIMENT_NAME"], .text, default: "image-pipeline",
            help: "Experiment that training runs are logged to."),
    ]

    public init(_ values: ConfigValues) {
        self.init(
            trackingURI: values.parsed("mlflow.tracking_uri") { URL(string: $0) },
            token: values.string("mlflow.token").map(Secret.init),
            username: values.string("mlflow.username"),
            password: values.string("mlflow.password").map(Secret.init),
            experiment: values.text("mlflow.experiment"))
    }

    public static func problems(in values: ConfigValues) -> [ConfigProblem] {
        values.requireTogether("mlflow.username", "mlflow.password")
    }
}

extension PipelineConfiguration.LabelStudio: ConfigSection {
    public static let name = "label_studio"
    public static let help = "Label Studio, for importing predictions for human review."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "label_studio.url", env: ["LABEL_STUDIO_URL"], .url(schemes: ["http", "https"]),
            help: "Label Studio server; unset to only write task files."),
        ConfigKey(
            "label_studio.api_key", env: ["LABEL_STUDIO_API_KEY"], .text, secret: true,
            help: "Label Studio access token."),
    ]

    public init(_ values: ConfigValues) {
        self.init(
            url: values.string("label_studio.url").flatMap { URL(string: $0) },
            apiKey: values.string("label_studio.api_key").map(Secret.init))
    }

    public static func problems(in values: ConfigValues) -> [ConfigProblem] {
        guard let source = values.source(of: "label_studio.api_key"), values.string("label_studio.url") == nil else {
            return []
        }
        return [
            .init(
                key: "label_studio.url", found: nil, source: nil,
                expected: "a URL, because label_studio.api_key is set (\(source))")
        ]
    }
}

extension PipelineConfiguration.HTTP: ConfigSection {
    public static let name = "http"
    public static let help = "The HTTP client every remote call goes through (S3, MLflow, Label Studio)."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "http.connect_timeout_seconds", env: ["PIPELINE_HTTP_CONNECT_TIMEOUT"], .number(0.1...600), default: "10",
            help: "Time allowed to open a connection."),
        ConfigKey(
            "http.timeout_seconds", env: ["PIPELINE_HTTP_TIMEOUT"], .number(0.1...86_400), default: "300",
            help: "Time allowed for one whole request, connection to last byte."),
        ConfigKey(
            "http.max_attempts", env: ["PIPELINE_HTTP_MAX_ATTEMPTS"], .integer(1...20), default: "5",
            help: "Attempts per request on connection errors, timeouts, 5xx and 429."),
        ConfigKey(
            "http.ca_bundle", env: ["AWS_CA_BUNDLE", "CURL_CA_BUNDLE"], .path,
            help: "PEM file of extra trusted certificate authorities; TLS verification is always on."),
    ]

    public init(_ values: ConfigValues) {
        self.init(
            connectTimeout: values.seconds("http.connect_timeout_seconds"),
            timeout: values.seconds("http.timeout_seconds"),
            maxAttempts: values.integer("http.max_attempts"),
            caBundle: values.string("http.ca_bundle"))
    }
}

extension PipelineConfiguration.Observability: ConfigSection {
    public static let name = "observability"
    public static let help = "Logs, and the /metrics, /livez and /readyz server."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "observability.log_level", env: ["PIPELINE_LOG_LEVEL"],
            .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), default: "info",
            help: "Least severe level logged."),
        ConfigKey(
            "observability.log_format", env: ["PIPELINE_LOG_FORMAT"], .choice(["auto", "text", "json"]),
            default: "auto",
            help: "auto: human text on a terminal, JSON lines otherwise."),
        ConfigKey(
            "observability.metrics_host", env: ["PIPELINE_METRICS_HOST"], .text, default: "127.0.0.1",
            help: "Address the /metrics, /livez, /readyz server binds; 0.0.0.0 in containers."),
        ConfigKey(
            "observability.metrics_port", env: ["PIPELINE_METRICS_PORT"], .integer(0...65_535), default: "9464",
            help: "Port of that server; 0 picks a free one."),
        ConfigKey(
            "observability.shutdown_grace_seconds", env: ["PIPELINE_SHUTDOWN_GRACE"], .integer(1...3600), default: "30",
            help:
                "Services (serve, poll loops): on SIGTERM, how long the batches in hand may take to finish; after it they are cancelled and their claims come back to the next worker."
        ),
    ]

    public init(_ values: ConfigValues) {
        self.init(
            logLevel: values.choice("observability.log_level"),
            logFormat: values.choice("observability.log_format"),
            metricsHost: values.text("observability.metrics_host"),
            metricsPort: values.integer("observability.metrics_port"),
            shutdownGrace: .seconds(values.integer("observability.shutdown_grace_seconds")))
    }
}
