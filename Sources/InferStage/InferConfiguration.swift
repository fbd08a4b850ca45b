import Foundation
import PipelineCommon

/// The `infer` section: the service and batch predictions.
public struct InferConfiguration: ConfigSection {
    public var pollInterval: Duration
    public var maxBodyBytes: Int
    public var prefix: String
    public var topK: Int
    public var batchSize: Int
    public var maxPixels: Int

    public static let name = "infer"
    public static let help = "Stage 4: predictions by the approved model, batch and served."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "infer.poll_interval_seconds", env: ["PIPELINE_INFER_POLL_INTERVAL"], .number(0.5...86_400), default: "10",
            help: "How often serve asks MLflow where the alias \"approved\" points, to swap models."),
        ConfigKey(
            "infer.max_body_mib", env: ["PIPELINE_INFER_MAX_BODY_MIB"], .integer(1...1024), default: "32",
            help: "Largest image POST /predict accepts."),
        ConfigKey(
            "infer.prefix", env: ["PIPELINE_INFER_PREFIX"], .text, default: "predictions/",
            help: "Prefix under which batch runs write Label Studio tasks and COCO results."),
        ConfigKey(
            "infer.top_k", env: ["PIPELINE_INFER_TOP_K"], .integer(1...100), default: "3",
            help: "Classes returned per image, most likely first."),
        ConfigKey(
            "infer.batch_size", env: ["PIPELINE_INFER_BATCH"], .integer(1...10_000), default: "32",
            help: "batch: images a worker claims at a time."),
        ConfigKey(
            "infer.max_pixels", env: ["PIPELINE_INFER_MAX_PIXELS"], .integer(1...2_000_000_000), default: "100000000",
            help: "Images declaring more pixels than this are refused unread, by the service and by batch runs."),
    ]

    public init(_ values: ConfigValues) {
        pollInterval = values.seconds("infer.poll_interval_seconds")
        maxBodyBytes = values.integer("infer.max_body_mib") << 20
        prefix = values.prefix("infer.prefix")
        topK = values.integer("infer.top_k")
        batchSize = values.integer("infer.batch_size")
        maxPixels = values.integer("infer.max_pixels")
    }
}

extension PipelineConfiguration {
    public typealias Infer = InferConfiguration

    /// The infer stage's section.
    public var infer: InferConfiguration {
        get { section(InferConfiguration.self) }
        set { setSection(newValue) }
    }
}
