import Foundation
import Logging
import TestSupport
import StageCommand
import Testing

@testable import PipelineCommon
@testable import StageCommand

@Suite(
    "pipelinectl doctor against the real services",
    .enabled(
        if: Services.available("PIPELINE_TEST_POSTGRES_URL", "PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_MLFLOW_URI"),
        Services.skipReason))
struct DoctorTests {
    static let logger = Logger(label: "doctor-tests")

    func checks(_ overrides: [String: String] = [:]) async throws -> [DoctorCheck] {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let environment = try Services.pipelineEnvironment(stagingRoot: dir.path).merging(overrides) { $1 }
        let configuration = try PipelineConfiguration.load(environment: environment)
        return await Doctor(configuration: configuration, logger: Self.logger).run()
    }

    @Test func passesWhenEveryServiceRuns() async throws {
        let checks = try await checks()
        #expect(
            checks.map(\.part) == ["object store", "manifest store", "mlflow", "label studio", "staging", "libraries"])
        for check in checks {
            #expect(check.status != .fail, "\(check.part): \(check.summary)")
        }
        #expect(checks.first { $0.part == "object store" }?.summary.contains("accepted") == true)
    }

    @Test func namesTheStoppedPart() async throws {
        let closed = "http://127.0.0.1:\(try closedPort())"
        let mlflow = try await checks(["MLFLOW_TRACKING_URI": closed])
        #expect(mlflow.filter { $0.status == .fail }.map(\.part) == ["mlflow"])
        #expect(mlflow.first { $0.part == "mlflow" }?.fix?.contains("MLFLOW_TRACKING_URI") == true)

        let s3 = try await checks(["AWS_ENDPOINT_URL_S3": closed])
        #expect(s3.filter { $0.status == .fail }.map(\.part) == ["object store"])

        let url = try Services.value("PIPELINE_TEST_POSTGRES_URL")
        var components = URLComponents(string: url)!
        components.port = try closedPort()
        let postgres = try await checks(["PIPELINE_MANIFEST_URL": components.string!])
        let failed = postgres.first { $0.status == .fail }
        #expect(failed?.part == "manifest store")
        #expect(failed?.summary.contains("<redacted>") == true)
        #expect(failed.map { !$0.summary.contains(components.password ?? "?") } == true)
    }

    @Test func aWrongSecretIsRejectedByTheSignatureCheckingServer() async throws {
        let checks = try await checks(["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
        let store = checks.first { $0.part == "object store" }
        #expect(store?.status == .fail)
        #expect(store?.summary.contains("SignatureDoesNotMatch") == true)
        #expect(store?.summary.contains("not-the-secret") == false)
    }

    @Test func aMissingBucketIsNamed() async throws {
        let checks = try await checks(["PIPELINE_OBJECT_STORE_URL": "s3://no-such-bucket-here/x"])
        let store = checks.first { $0.part == "object store" }
        #expect(store?.summary.contains("NoSuchBucket") == true)
        #expect(store?.fix?.contains("create the bucket") == true)
    }

    @Test func theCommandExitsZeroOnlyWhenAllPass() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let environment = try Services.pipelineEnvironment(stagingRoot: dir.path)
        let passing = try await Command.run("pipelinectl", ["doctor"], environment: environment)
        #expect(passing.status == 0, "stdout: \(passing.stdout)\nstderr: \(passing.stderr)")
        #expect(passing.stdout.contains("PASS  object store"))

        var stopped = environment
        stopped["MLFLOW_TRACKING_URI"] = "http://127.0.0.1:\(try closedPort())"
        let failing = try await Command.run("pipelinectl", ["doctor"], environment: stopped)
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("FAIL  mlflow"))
        #expect(failing.stdout.contains("1 check failed: mlflow"))

        let json = try await Command.run("pipelinectl", ["doctor", "--json"], environment: environment)
        let decoded = try JSONDecoder().decode([DoctorCheck].self, from: Data(json.stdout.utf8))
        #expect(decoded.count == 6)
        for secret in [
            environment["AWS_SECRET_ACCESS_KEY"]!,
            URLComponents(string: environment["PIPELINE_MANIFEST_URL"]!)!.password!,
        ] {
            #expect(!passing.stdout.contains(secret) && !passing.stderr.contains(secret))
            #expect(!failing.stdout.contains(secret) && !failing.stderr.contains(secret))
            #expect(!json.stdout.contains(secret))
        }
    }

    /// Passwords written into the service URLs themselves (user:password@host) never show,
    /// whether the check passes or fails, nor the PostgreSQL password in a refused connection.
    @Test func credentialsInServiceURLsNeverShow() async throws {
        let environment = try Services.pipelineEnvironment(stagingRoot: "/tmp")
        func withPassword(_ url: String, _ password: String) -> String {
            var components = URLComponents(string: url)!
            components.user = "someone"
            components.password = password
            return components.string!
        }
        let closed = "http://127.0.0.1:\(try closedPort())"
        for base in [environment, environment.merging(["MLFLOW_TRACKING_URI": closed]) { $1 }] {
            let checks = try await checks([
                "AWS_ENDPOINT_URL_S3": withPassword(
                    environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]!, "s3-endpoint-pw"),
                "MLFLOW_TRACKING_URI": withPassword(base["MLFLOW_TRACKING_URI"]!, "mlflow-uri-pw"),
                "LABEL_STUDIO_URL": withPassword(closed, "label-studio-pw"),
                "PIPELINE_MANIFEST_URL": withPassword(environment["PIPELINE_MANIFEST_URL"]!, "wrong-postgres-pw"),
            ])
            let text = checks.map { "\($0.part) \($0.summary) \($0.fix ?? "")" }.joined(separator: "\n")
            for secret in ["s3-endpoint-pw", "mlflow-uri-pw", "label-studio-pw", "wrong-postgres-pw"] {
                #expect(!text.contains(secret), "\(secret) in:\n\(text)")
            }
            #expect(checks.first { $0.part == "manifest store" }?.status == .fail, "the wrong password is refused")
            #expect(checks.first { $0.part == "label studio" }?.status == .fail)
        }
    }
}
