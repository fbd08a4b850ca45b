import Foundation
import TestSupport
import Testing

@Suite("pipelinectl config check")
struct ConfigCommandTests {
    static let environment = ["HOME": "/tmp/pipelinectl-home", "PATH": "/usr/bin:/bin"]

    @Test func printsTheEffectiveConfigurationWithSecretsRedacted() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("pipeline.yaml")
        try """
        object_store:
          url: s3://images/raw
          access_key_id: AKIAFROMFILE
          secret_access_key: secret-from-file
        manifest:
          url: postgres://pipeline:pg-secret@db:5432/pipeline
        """.write(toFile: file, atomically: true, encoding: .utf8)
        var environment = Self.environment
        environment["MLFLOW_TRACKING_TOKEN"] = "mlflow-token-secret"
        environment["AWS_REGION"] = "eu-central-1"
        let result = try await Command.run(
            "pipelinectl", ["config", "check", "--config", file], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("region: eu-central-1  # environment AWS_REGION"))
        #expect(result.stdout.contains("url: s3://images/raw  # \(file) line 2"))
        for secret in ["AKIAFROMFILE", "secret-from-file", "pg-secret", "mlflow-token-secret"] {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "\(secret) leaked")
        }
    }

    @Test func listsEveryProblemAndExitsTwo() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("bad.yaml")
        try """
        object_store:
          url: http://not-a-store
          secret_access_key: hidden-value
        http:
          max_attempts: 0
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await Command.run(
            "pipelinectl", ["config", "check", "--config", file], environment: Self.environment)
        #expect(result.status == 2)
        #expect(result.stderr.contains("3 problems"))
        #expect(result.stderr.contains("object_store.url: found \"http://not-a-store\""))
        #expect(result.stderr.contains("http.max_attempts"))
        #expect(result.stderr.contains("object_store.access_key_id: missing"))
        #expect(!result.stderr.contains("hidden-value"))
    }

    @Test func badUsageExitsTwo() async throws {
        let unknown = try await Command.run(
            "pipelinectl", ["config", "check", "--no-such-flag"], environment: Self.environment)
        #expect(unknown.status == 2)
        let level = try await Command.run(
            "pipelinectl", ["config", "check", "--log-level", "loud"], environment: Self.environment)
        #expect(level.status == 2)
        #expect(level.stderr.contains("--log-level loud"))
        let missing = try await Command.run(
            "pipelinectl", ["config", "check", "--config", "/nonexistent.yaml"], environment: Self.environment)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent.yaml"))
    }
}
