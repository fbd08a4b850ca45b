import Foundation
import Logging
import PipelineCommon

/// One model version a sprint may evaluate, as the registry describes it.
public struct CatalogModel: Sendable, Codable, Equatable {
    public let name: String
    public let version: String
    public let runId: String?
    public let aliases: [String]
    public let tags: [String: String]
    /// From the version's `parameters` tag or its model card; nil when neither says.
    public let parameters: Int?
    /// From the version's `model_bytes` tag or its model card.
    public let modelBytes: Int?
    /// Why the model card could not be read, when it could not (the model may still load).
    public let cardProblem: String?

    public var reference: String { "\(name)@\(version)" }
}

/// The registry read live: every registered model in MLflow and the versions a sprint takes.
public struct ModelCatalog: Sendable {
    let mlflow: MLflowClient
    let logger: Logger

    public init(mlflow: MLflowClient, logger: Logger) {
        self.mlflow = mlflow
        self.logger = logger
    }

    public func models(selecting selection: SprintConfiguration.VersionSelection) async throws -> [CatalogModel] {
        var found: [CatalogModel] = []
        for registered in try await mlflow.searchRegisteredModels().sorted(by: { $0.name < $1.name }) {
            let versions = try await mlflow.searchModelVersions(name: registered.name)  // newest first
            let aliases = Dictionary(grouping: registered.aliases ?? [], by: \.version).mapValues { $0.map(\.alias) }
            let chosen: [MLflowClient.ModelVersion]
            switch selection {
            case .latest: chosen = Array(versions.prefix(1))
            case .aliased:
                chosen = versions.enumerated().filter { $0.offset == 0 || aliases[$0.element.version] != nil }.map(
                    \.element)
            case .all: chosen = versions
            }
            for version in chosen {
                found.append(await describe(version, aliases: aliases[version.version] ?? []))
            }
        }
        return found
    }

    /// Sizes come from the version's tags (written at registration), else from its model card.
    func describe(_ version: MLflowClient.ModelVersion, aliases: [String]) async -> CatalogModel {
        let tags = Dictionary((version.tags ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        var parameters = tags["parameters"].flatMap { Int($0) }
        var bytes = tags["model_bytes"].flatMap { Int($0) }
        var cardProblem: String?
        if parameters == nil || bytes == nil {
            if let runId = version.runId {
                do {
                    let card = try await modelCard(runId: runId)
                    parameters = parameters ?? card.parameterCount
                    bytes = bytes ?? card.modelBytes
                } catch {
                    cardProblem = "model card unreadable: \(error)"
                    logger.warning(
                        "model card unreadable",
                        metadata: ["model": "\(version.name)@\(version.version)", "error": "\(error)"])
                }
            } else {
                cardProblem = "the version names no run"
            }
        }
        return CatalogModel(
            name: version.name, version: version.version, runId: version.runId, aliases: aliases.sorted(), tags: tags,
            parameters: parameters, modelBytes: bytes, cardProblem: cardProblem)
    }

    struct Card: Decodable {
        let parameterCount: Int?
        let modelBytes: Int?
        enum CodingKeys: String, CodingKey {
            case parameterCount = "parameter_count"
            case modelBytes = "model_bytes"
        }
    }

    func modelCard(runId: String) async throws -> Card {
        let path = NSTemporaryDirectory() + "/model-card-\(UUID().uuidString).json"
        defer { unlink(path) }
        try await mlflow.downloadArtifact(uri: "runs:/\(runId)/model/model_card.json", to: path)
        return try JSONDecoder().decode(Card.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

extension SprintConfiguration.ModelFilter {
    /// Nil when `model` passes every condition, else the first reason it does not.
    public func rejection(of model: CatalogModel) -> String? {
        guard fnmatch(name, model.name, 0) == 0 else { return "name does not match \"\(name)\"" }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) where model.tags[key] != value {
            return model.tags[key].map { "tag \(key) is \"\($0)\", not \"\(value)\"" } ?? "no tag \(key)"
        }
        if let maxParameters {
            guard let parameters = model.parameters else {
                return "parameter count unknown (no parameters tag or model card), ceiling \(maxParameters)"
            }
            if parameters > maxParameters { return "\(parameters) parameters, over \(maxParameters)" }
        }
        if let maxModelBytes {
            guard let bytes = model.modelBytes else {
                return "model size unknown (no model_bytes tag or model card), ceiling \(maxModelBytes)"
            }
            if bytes > maxModelBytes { return "\(bytes) bytes, over \(maxModelBytes)" }
        }
        return nil
    }
}
