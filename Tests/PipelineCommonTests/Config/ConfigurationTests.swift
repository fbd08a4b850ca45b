import Foundation
import Logging
import TestSupport
import StageCommand
import Testing

@testable import PipelineCommon

@Suite("Configuration: YAML file, environment overrides, validation, redaction")
struct ConfigurationTests {
    static let baseEnvironment = ["HOME": "/home/tester"]

    static let validYAML = """
        object_store:
          url: s3://raw-images/incoming
          endpoint: http://127.0.0.1:9000
          region: eu-west-1
          access_key_id: AKIAEXAMPLE
          secret_access_key: file-secret-value
        manifest:
          url: postgres://pipeline:db-password@db.internal:5432/pipeline
          pool_size: 8
        staging:
          root: /mnt/nvme
          reserve_mib: 2048
          keep_on_failure: yes
        mlflow:
          tracking_uri: http://mlflow:5000
          username: alice
          password: mlflow-password
        http:
          timeout_seconds: 30.5
          max_attempts: 3
        observability:
          log_level: debug
          log_format: json
          metrics_port: 9100
        """

    func load(_ yaml: String?, environment: [String: String] = [:]) throws -> PipelineConfiguration {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try yaml.map { try dir.write("pipeline.yaml", $0) }
        return try PipelineConfiguration.load(file: file, environment: Self.baseEnvironment.merging(environment) { $1 })
    }

    func problems(_ yaml: String?, environment: [String: String] = [:]) -> [ConfigProblem] {
        do {
            _ = try load(yaml, environment: environment)
            Issue.record("expected the configuration to be rejected")
            return []
        } catch let ConfigurationError.invalid(problems) {
            return problems
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    @Test func loadsAValidFile() throws {
        let config = try load(Self.validYAML)
        #expect(config.objectStore.location == .s3(bucket: "raw-images", prefix: "incoming/"))
        #expect(config.objectStore.endpoint?.absoluteString == "http://127.0.0.1:9000")
        #expect(config.objectStore.region == "eu-west-1")
        #expect(config.objectStore.credentials?.accessKeyId == "AKIAEXAMPLE")
        #expect(config.objectStore.credentials?.secretAccessKey.value == "file-secret-value")
        #expect(config.manifest.poolSize == 8)
        guard case .postgres(let uri) = config.manifest.location else {
            Issue.record("expected postgres")
            return
        }
        #expect(uri.value == "postgres://pipeline:db-password@db.internal:5432/pipeline")
        #expect(config.staging.reserveBytes == 2048 << 20)
        #expect(config.staging.keepOnFailure)
        #expect(config.mlflow.username == "alice")
        #expect(config.http.timeout == .milliseconds(30_500))
        #expect(config.http.maxAttempts == 3)
        #expect(config.observability.logLevel == .debug)
        #expect(config.observability.logFormat == .json)
        #expect(config.observability.metricsPort == 9100)
    }

    @Test func defaultsAreTheEmbeddedStores() throws {
        let config = try load(nil)
        #expect(config.objectStore.location == .file(directory: "/home/tester/.local/share/image-pipeline/objects"))
        #expect(config.manifest.location == .sqlite(path: "/home/tester/.local/share/image-pipeline/manifest.db"))
        #expect(config.staging.root == "/mnt/nvme")
        #expect(config.mlflow.trackingURI.absoluteString == "http://127.0.0.1:5000")
        #expect(config.objectStore.credentials == nil)
    }

    @Test func environmentBeatsTheFile() throws {
        let config = try load(
            Self.validYAML,
            environment: [
                "AWS_ENDPOINT_URL": "http://generic:9000",
                "AWS_ENDPOINT_URL_S3": "http://s3-specific:9000",
                "AWS_REGION": "ap-south-1",
                "AWS_SECRET_ACCESS_KEY": "env-secret",
                "PIPELINE_STAGING_ROOT": "/scratch",
                "MLFLOW_TRACKING_URI": "https://mlflow.example.com",
                "PIPELINE_MANIFEST_URL": "sqlite:///var/lib/pipeline/m.db",
                "PIPELINE_OBJECT_STORE_URL": "file:///srv/images",
            ])
        #expect(
            config.objectStore.endpoint?.absoluteString == "http://s3-specific:9000",
            "AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL")
        #expect(config.objectStore.region == "ap-south-1")
        #expect(config.objectStore.credentials?.secretAccessKey.value == "env-secret")
        #expect(config.staging.root == "/scratch")
        #expect(config.mlflow.trackingURI.absoluteString == "https://mlflow.example.com")
        #expect(config.manifest.location == .sqlite(path: "/var/lib/pipeline/m.db"))
        #expect(config.objectStore.location == .file(directory: "/srv/images"))
        let region = config.effectiveValues.first { $0.key == "object_store.region" }
        #expect(region?.source == .environment("AWS_REGION"))
        let timeout = config.effectiveValues.first { $0.key == "http.timeout_seconds" }
        guard case .file(_, let line) = timeout?.source else {
            Issue.record("http.timeout_seconds should come from the file")
            return
        }
        #expect(line == 19)
    }

    @Test func everyInvalidFieldGetsItsOwnMessage() {
        let found = problems(
            """
            object_store:
              url: ftp://somewhere/x
              addressing: sideways
              region: us east/1
              bogus_key: 1
            manifest:
              url: mysql://db/pipeline
              pool_size: 0
            staging:
              root: relative/dir
              keep_on_failure: maybe
            http:
              timeout_seconds: -3
              max_attempts: many
            observability:
              log_level: loud
              metrics_port: 70000
            unknown_section:
              x: 1
            """)
        let byKey = Dictionary(grouping: found, by: \.key)
        // A region that cannot be part of a host name is a configuration error, never a trap.
        for key in [
            "object_store.url", "object_store.addressing", "object_store.region", "object_store.bogus_key",
            "manifest.url",
            "manifest.pool_size",
            "staging.root", "staging.keep_on_failure", "http.timeout_seconds", "http.max_attempts",
            "observability.log_level", "observability.metrics_port", "unknown_section",
        ] {
            #expect(byKey[key]?.count == 1, "expected one problem for \(key), got \(byKey[key] ?? [])")
        }
        #expect(found.count == 13)
        #expect(byKey["object_store.region"]?.first?.expected.contains("us-east-1") == true)
        let url = byKey["object_store.url"]?.first
        #expect(url?.found == "ftp://somewhere/x")
        #expect(url?.expected.contains("s3://") == true)
        #expect(url.map { "\($0.source!)" }?.hasSuffix("line 2") == true)
        #expect(byKey["observability.log_level"]?.first?.expected.contains("debug") == true)
        #expect(byKey["manifest.pool_size"]?.first?.expected == "an integer from 1 to 64")
    }

    @Test func missingPartnersAreReported() {
        let found = problems(
            """
            object_store:
              access_key_id: AKIAONLY
            mlflow:
              password: lonely-password
            label_studio:
              api_key: ls-key
            """)
        let keys = Set(found.map(\.key))
        #expect(keys == ["object_store.secret_access_key", "mlflow.username", "label_studio.url"])
        #expect(found.allSatisfy { $0.found == nil && $0.description.contains("missing") })
        // A missing value names the variable that sets it, as a container is configured.
        let secret = found.first { $0.key == "object_store.secret_access_key" }?.description ?? ""
        #expect(secret.contains("set AWS_SECRET_ACCESS_KEY or object_store.secret_access_key in the file"), "\(secret)")
    }

    @Test func s3AndFileURLsAreChecked() {
        let found = problems(
            nil,
            environment: [
                "PIPELINE_OBJECT_STORE_URL": "s3://UPPER_case/x",
                "PIPELINE_MANIFEST_URL": "sqlite://relative.db",
            ])
        #expect(found.map(\.key).sorted() == ["manifest.url", "object_store.url"])
        #expect(found.first { $0.key == "object_store.url" }?.expected.contains("bucket name") == true)
        #expect(found.first { $0.key == "object_store.url" }?.source == .environment("PIPELINE_OBJECT_STORE_URL"))
    }

    @Test func secretsAreRedactedInErrorsAndOutput() throws {
        // A bad value for a secret key never echoes it, and a bad URL never echoes its password.
        let found = problems(
            """
            manifest:
              url: postgres://user:s3cr3t-pw@/nohost
            object_store:
              secret_access_key: [not, a, scalar]
            """,
            environment: ["AWS_ACCESS_KEY_ID": "AKIA"])
        let text = "\(ConfigurationError.invalid(found))"
        #expect(!text.contains("s3cr3t-pw"))
        #expect(text.contains("manifest.url"))

        let config = try load(
            Self.validYAML,
            environment: [
                "MLFLOW_TRACKING_TOKEN": "tok-123456", "LABEL_STUDIO_URL": "http://ls:8080",
                "LABEL_STUDIO_API_KEY": "ls-secret",
            ])
        let rendered = config.renderEffectiveYAML()
        for secret in ["file-secret-value", "db-password", "mlflow-password", "tok-123456", "ls-secret", "AKIAEXAMPLE"]
        {
            #expect(!rendered.contains(secret), "\(secret) leaked into config check output")
        }
        #expect(rendered.contains("secret_access_key: <redacted>"))
        #expect(rendered.contains("postgres://pipeline:<redacted>@db.internal:5432/pipeline"))
        #expect(!"\(config.objectStore.credentials!)".contains("file-secret-value"))
        #expect(!String(reflecting: config.mlflow.password!).contains("mlflow-password"))
        var dumped = ""
        dump(config.objectStore, to: &dumped)
        #expect(!dumped.contains("file-secret-value"))
    }

    @Test func malformedYAMLAndMissingFilesAreClear() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bad = try dir.write("bad.yaml", "object_store:\n  url: [unclosed\n")
        #expect {
            _ = try PipelineConfiguration.load(file: bad, environment: [:])
        } throws: { error in
            guard case ConfigurationError.malformedYAML(let path, _) = error else { return false }
            return path == bad
        }
        #expect {
            _ = try PipelineConfiguration.load(file: dir.file("absent.yaml"), environment: [:])
        } throws: { error in
            "\(error)".contains("no such file") && "\(error)".contains("--config")
        }
    }

    @Test func theShippedExampleIsTheDocumentedSchemaAndLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try String(
            contentsOf: root.appendingPathComponent("config/pipeline.example.yaml"), encoding: .utf8)
        #expect(
            shipped == PipelineSchema.full.exampleYAML(),
            "regenerate with: pipelinectl config example > config/pipeline.example.yaml")
        for key in PipelineSchema.full.keys {
            #expect(shipped.contains(String(key.path.split(separator: ".")[1]) + ":"), "\(key.path) undocumented")
        }
        _ = try load(shipped)
    }

    @Test func redactionOfURLs() {
        #expect(Redaction.url("postgres://u:pw@h:5432/db") == "postgres://u:<redacted>@h:5432/db")
        let presigned = Redaction.url(
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=deadbeef&X-Amz-Expires=60")
        #expect(!presigned.contains("deadbeef"))
        #expect(!presigned.contains("AKIA"))
        #expect(presigned.contains("X-Amz-Expires=60"))
        #expect(Redaction.url("not a url") == "not a url")
    }
}
