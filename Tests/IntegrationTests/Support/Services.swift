import Foundation
import Testing

/// The real services started by `scripts/services.sh up`, read from its env file.
///
/// Without the file the integration tests are skipped with a visible reason, unless
/// `PIPELINE_REQUIRE_SERVICES=1` (as `make test` sets), when a missing service is a failure.
enum Services {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var envFile: String {
        ProcessInfo.processInfo.environment["PIPELINE_SERVICES_ENV"]
            ?? packageRoot.appendingPathComponent(".services/env").path
    }

    static let settings: [String: String] = {
        guard let text = try? String(contentsOfFile: envFile, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }()

    static var required: Bool { ProcessInfo.processInfo.environment["PIPELINE_REQUIRE_SERVICES"] == "1" }

    /// Whether tests needing `keys` should run: when the settings are there, or when they are required
    /// (the test then fails on the missing value instead of being skipped).
    static func available(_ keys: String...) -> Bool {
        required || keys.allSatisfy { settings[$0] != nil }
    }

    static let skipReason: Comment = "services not running: start them with scripts/services.sh up (make test does)"

    /// The value of `key`, or a recorded failure naming what is missing.
    static func value(_ key: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        guard let value = settings[key] else {
            Issue.record(
                "\(key) missing from \(envFile): scripts/services.sh up did not start that service",
                sourceLocation: sourceLocation)
            throw MissingService(key: key)
        }
        return value
    }

    struct MissingService: Error { let key: String }

    /// The environment that points the pipeline at every running service.
    static func pipelineEnvironment(stagingRoot: String) throws -> [String: String] {
        [
            "HOME": NSHomeDirectory(),
            "PIPELINE_OBJECT_STORE_URL": "s3://\(try value("PIPELINE_TEST_S3_BUCKET"))/doctor",
            "AWS_ENDPOINT_URL_S3": try value("PIPELINE_TEST_S3_ENDPOINT"),
            "AWS_REGION": try value("PIPELINE_TEST_S3_REGION"),
            "AWS_ACCESS_KEY_ID": try value("PIPELINE_TEST_S3_ACCESS_KEY_ID"),
            "AWS_SECRET_ACCESS_KEY": try value("PIPELINE_TEST_S3_SECRET_ACCESS_KEY"),
            "PIPELINE_MANIFEST_URL": try value("PIPELINE_TEST_POSTGRES_URL"),
            "MLFLOW_TRACKING_URI": try value("PIPELINE_TEST_MLFLOW_URI"),
            "PIPELINE_STAGING_ROOT": stagingRoot,
            "PIPELINE_STAGING_RESERVE_MIB": "16",
            "PIPELINE_LOG_FORMAT": "json",
        ]
    }
}
