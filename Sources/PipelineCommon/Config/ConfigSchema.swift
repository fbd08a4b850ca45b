/// The configuration file's sections and keys: the common sections (object store, manifest,
/// staging first; MLflow, Label Studio, HTTP, observability last) around the stages' own,
/// which each stage library defines (see ``ConfigSection``). One schema is one documented
/// file: ``exampleYAML()`` writes it, and the loader checks a file and the environment
/// against it.
///
/// Environment overrides use each ecosystem's own names (AWS_*, MLFLOW_*, LABEL_STUDIO_*)
/// so that a shell already set up for the AWS CLI or MLflow works unchanged.
public struct ConfigSchema: Sendable {
    public let sections: [any ConfigSection.Type]

    /// The common sections with `stages` between them, in the order the file documents them.
    public init(stages: [any ConfigSection.Type]) {
        typealias Common = PipelineConfiguration
        sections =
            [Common.ObjectStore.self, Common.Manifest.self, Common.Staging.self] + stages
            + [Common.MLflow.self, Common.LabelStudio.self, Common.HTTP.self, Common.Observability.self]
    }

    /// The common sections alone: enough for a tool that runs no stage.
    public static let common = ConfigSchema(stages: [])

    /// Every key, in section order.
    public var keys: [ConfigKey] { sections.flatMap { $0.keys } }

    public func key(_ path: String) -> ConfigKey? { keys.first { $0.path == path } }
}
