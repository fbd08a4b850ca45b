import Foundation
import Logging

/// Builds the object store a configuration names, resolving S3 credentials the way the AWS
/// CLI does: explicit keys (configuration or environment), then the profile in the shared
/// files (`AWS_PROFILE`, else `default`).
public enum ObjectStoreFactory {
    public static func make(
        _ configuration: PipelineConfiguration, http: HTTPClient, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        multipart: S3ObjectStore.Multipart = .init()
    ) throws -> any ObjectStore {
        switch configuration.objectStore.location {
        case .file(let directory):
            return try FileObjectStore(root: directory)
        case .s3(let bucket, let prefix):
            return try makeS3(
                configuration, bucket: bucket, prefix: prefix, http: http, logger: logger, environment: environment,
                multipart: multipart)
        }
    }

    /// An S3 store for `bucket`/`prefix` with the configuration's endpoint, region and credentials.
    public static func makeS3(
        _ configuration: PipelineConfiguration, bucket: String, prefix: String, http: HTTPClient, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        multipart: S3ObjectStore.Multipart = .init()
    ) throws -> S3ObjectStore {
        let settings = configuration.objectStore
        var region = settings.region
        var credentials = settings.credentials
        if credentials == nil {
            let name = settings.profile ?? "default"
            if let profile = AWSProfileFiles.profile(name, environment: environment) {
                credentials = profile.credentials
                if configuration.source(of: "object_store.region") == .defaultValue, let profileRegion = profile.region
                {
                    region = profileRegion
                }
            }
        }
        guard let credentials else {
            throw ConfigurationError.invalid([
                ConfigProblem(
                    key: "object_store.access_key_id", found: nil, source: nil,
                    expected:
                        "S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile in ~/.aws/credentials"
                )
            ])
        }
        return S3ObjectStore(
            bucket: bucket, prefix: prefix, endpoint: settings.endpoint, region: region,
            addressing: settings.addressing,
            credentials: credentials, http: http, multipart: multipart, logger: logger)
    }
}
