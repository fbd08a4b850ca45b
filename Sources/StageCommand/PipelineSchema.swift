import Foundation
import InferStage
import IngestStage
import NormalizeStage
import PipelineCommon
import TrainStage

/// The whole pipeline's configuration file: the common sections around every stage's own,
/// composed here, where all the stages are known. Every executable loads this one schema, so
/// one file configures them all and each checks every key.
public enum PipelineSchema {
    public static let full = ConfigSchema(stages: [
        IngestConfiguration.self, AugmentConfiguration.self, NormalizeConfiguration.self, TrainConfiguration.self,
        InferConfiguration.self,
    ])
}

extension PipelineConfiguration {
    /// Loads the whole pipeline's configuration (``PipelineSchema/full``) from `file` (if any)
    /// with `environment` overriding it.
    ///
    /// - Throws: ``ConfigurationError`` listing every wrong or missing value at once.
    public static func load(
        file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> PipelineConfiguration {
        try load(file: file, environment: environment, schema: PipelineSchema.full)
    }
}
