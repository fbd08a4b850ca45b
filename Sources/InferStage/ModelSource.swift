import Foundation
import Learning
import Logging
import PipelineCommon

/// A model version loaded from the registry, ready to predict.
public struct LoadedModel: Sendable {
    public let name: String
    public let version: String
    public let runId: String
    public let predictor: Predictor

    public var variant: VariantSpec { predictor.model.header.variant }
}

/// Finds the version behind a registered model's alias and loads its model file: downloaded
/// through the staging area from the run's artifacts, checksum and format verified.
public struct ModelSource: Sendable {
    let mlflow: MLflowClient
    let staging: StagingArea
    let name: String
    let alias: String
    /// A version served whatever the alias says (`pipeline-infer serve --model-version`).
    let pinned: String?

    public init(
        mlflow: MLflowClient, staging: StagingArea, name: String, alias: String = "approved", pinned: String? = nil
    ) {
        self.mlflow = mlflow
        self.staging = staging
        self.name = name
        self.alias = alias
        self.pinned = pinned
    }

    /// The version the alias points at now (or the pinned one), or nil when it is not set.
    public func currentVersion() async throws -> MLflowClient.ModelVersion? {
        if let pinned { return try await mlflow.modelVersion(name: name, version: pinned) }
        return try await mlflow.version(name: name, alias: alias)
    }

    public func load(_ version: MLflowClient.ModelVersion) async throws -> LoadedModel {
        guard let runId = version.runId else {
            throw InferError("\(name) version \(version.version) names no run; register models with pipeline-train")
        }
        let model = try await staging.withRun(
            stage: "infer", runId: "model-\(name)-\(version.version)-\(UUID().uuidString.prefix(8))"
        ) { run in
            let path = run.inputDirectory + "/model.ipm"
            let partial = path + StagingRun.partialSuffix
            do {
                try await mlflow.downloadArtifact(uri: "runs:/\(runId)/model/model.ipm", to: partial)
            } catch {
                unlink(partial)
                throw InferError("cannot download the model of \(name) version \(version.version): \(error)")
            }
            guard rename(partial, path) == 0 else { throw InferError("cannot move the model into \(path)") }
            return try await BlockingPools.files.runIfActive { try ModelFile.read(from: path) }
        }
        return LoadedModel(name: name, version: version.version, runId: runId, predictor: Predictor(model: model))
    }

    /// Loads what the alias points at; a clear error when it points nowhere.
    public func loadCurrent() async throws -> LoadedModel {
        guard let version = try await currentVersion() else {
            throw InferError(
                "registered model \(name) has no \"\(alias)\" version; approve one with pipelinectl model approve \(name) VERSION"
            )
        }
        return try await load(version)
    }
}

public struct InferError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
