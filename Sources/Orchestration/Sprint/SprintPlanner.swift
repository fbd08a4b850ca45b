import Foundation
import PipelineCommon
import TrainStage

/// `sprint plan`: resolves the datasets, reads the catalog, gives each model to the first queue
/// whose filter takes it, and writes the plan for people (Markdown) and workers (JSON).
public struct SprintPlanner: Sendable {
    let sprint: SprintConfiguration
    let defaults: PipelineConfiguration.Train

    public init(sprint: SprintConfiguration, defaults: PipelineConfiguration.Train) {
        self.sprint = sprint
        self.defaults = defaults
    }

    /// The datasets the sprint names, as published versions.
    public func resolveDatasets(_ manifests: any ManifestStore) async throws -> [SprintTask.DatasetReference] {
        var resolved: [SprintTask.DatasetReference] = []
        for reference in sprint.datasets {
            let version: DatasetVersion
            switch reference {
            case .version(let id):
                guard let found = try await manifests.version(id) else {
                    throw SprintError(
                        "dataset version \(id) is not in the manifest store; list them with pipelinectl datasets list")
                }
                guard found.status == .published else {
                    throw SprintError("dataset version \(id) is a draft; a sprint evaluates published versions")
                }
                version = found
            case .latest(let name, let stage):
                guard let found = try await manifests.latestPublished(name: name, stage: stage) else {
                    throw SprintError("dataset \(name) has no published \(stage) version; run that stage first")
                }
                version = found
            }
            if !resolved.contains(where: { $0.id == version.id }) {
                resolved.append(.init(id: version.id, name: version.name, stage: version.stage))
            }
        }
        return resolved
    }

    /// The plan for these models and datasets; `now` is when it was made.
    public func plan(models: [CatalogModel], datasets: [SprintTask.DatasetReference], now: Date = Date())
        -> SprintPlan
    {
        let settings = SprintTask.Settings(
            validationFraction: sprint.evaluation.validationFraction ?? defaults.validationFraction,
            seed: sprint.evaluation.seed ?? defaults.seed, images: sprint.evaluation.smokeImages,
            concurrency: sprint.evaluation.serviceConcurrency)
        var members: [String: [CatalogModel]] = [:]
        var unassigned: [SprintPlan.Unassigned] = []
        for model in models {
            var reasons: [String: String] = [:]
            var placed = false
            for queue in sprint.queues {
                if !queue.kinds.contains(.evaluate), !queue.kinds.contains(.service) {
                    reasons[queue.name] = "the queue only trains"
                } else if let reason = queue.filter.rejection(of: model) {
                    reasons[queue.name] = reason
                } else {
                    members[queue.name, default: []].append(model)
                    placed = true
                    break
                }
            }
            if !placed { unassigned.append(.init(model: model.reference, reasons: reasons)) }
        }
        var trainers: [String: [SprintConfiguration.TrainerSpec]] = [:]
        for trainer in sprint.trainers {
            var reasons: [String: String] = [:]
            var placed = false
            for queue in sprint.queues {
                guard let glob = queue.trainers else {
                    reasons[queue.name] = "the queue has no train-evaluate task"
                    continue
                }
                if fnmatch(glob, trainer.name, 0) == 0 {
                    trainers[queue.name, default: []].append(trainer)
                    placed = true
                    break
                }
                reasons[queue.name] = "name does not match \"\(glob)\""
            }
            if !placed { unassigned.append(.init(model: "trainer \(trainer.name)", reasons: reasons)) }
        }
        let queues = sprint.queues.map { queue -> SprintPlan.Queue in
            let models = members[queue.name] ?? []
            var tasks: [SprintTask] = []
            for trainer in trainers[queue.name] ?? [] {
                for dataset in datasets {
                    tasks.append(
                        SprintTask(
                            sprint: sprint.id, queue: queue.name, kind: .trainEvaluate,
                            model: .init(
                                name: trainer.name, version: "new", runId: nil, parameters: nil, modelBytes: nil),
                            dataset: dataset, settings: settings, timeoutSeconds: queue.timeoutSeconds, trainer: trainer
                        ))
                }
            }
            for model in models {
                for dataset in datasets {
                    for kind in queue.kinds where kind != .trainEvaluate {
                        tasks.append(
                            SprintTask(
                                sprint: sprint.id, queue: queue.name, kind: kind,
                                model: .init(
                                    name: model.name, version: model.version, runId: model.runId,
                                    parameters: model.parameters, modelBytes: model.modelBytes),
                                dataset: dataset, settings: settings, timeoutSeconds: queue.timeoutSeconds))
                    }
                }
            }
            let cap = queue.maxTasks ?? tasks.count
            return SprintPlan.Queue(
                name: queue.name, kinds: queue.kinds,
                models: (trainers[queue.name] ?? []).map { "trainer \($0.name)" } + models.map(\.reference),
                tasks: Array(tasks.prefix(cap)), overCap: tasks.dropFirst(cap).map(\.id))
        }
        return SprintPlan(
            format: "image-pipeline sprint plan v1", sprint: sprint.id, window: sprint.window,
            plannedAt: ISO8601DateFormatter().string(from: now), datasets: datasets, queues: queues,
            unassigned: unassigned)
    }

    /// Writes `plan.json`, `plan.md` and `queues/<queue>.json` + `.md` under `directory`.
    public static func write(_ plan: SprintPlan, to directory: String) throws -> [String] {
        let queues = directory + "/queues"
        try FileManager.default.createDirectory(atPath: queues, withIntermediateDirectories: true)
        let encoder = SprintJSON.encoder(pretty: true)
        var written: [String] = []
        func save(_ data: Data, _ path: String) throws {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            written.append(path)
        }
        try save(try encoder.encode(plan), directory + "/plan.json")
        try save(Data(SprintMarkdown.plan(plan).utf8), directory + "/plan.md")
        for queue in plan.queues {
            let file = SprintQueueFile(
                format: SprintQueueFile.formatName, sprint: plan.sprint, queue: queue.name, tasks: queue.tasks)
            try save(try encoder.encode(file), queues + "/\(queue.name).json")
            try save(Data(SprintMarkdown.queue(queue, sprint: plan.sprint).utf8), queues + "/\(queue.name).md")
        }
        return written
    }
}
