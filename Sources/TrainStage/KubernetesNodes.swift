import Foundation
import Learning
import Logging
import PipelineCommon
import Synchronization

/// Parameters between the coordinator (`pipeline-train --backend kubernetes`) and the Job's
/// pods (`pipeline-train shard`) through the object store, under `<train.prefix><run>/`:
/// `plan.json` and `shard-<rank>.jsonl` once; then per epoch the coordinator writes
/// `epoch-<e>/params.bin` and each pod answers `epoch-<e>/node-<rank>.bin` and `.json`;
/// `done` tells the pods to exit.
final class ObjectStoreExchange: NodeExchange {
    let submit: @Sendable () async throws -> JobHealthCheck
    /// How long an epoch may take before the coordinator gives up on a pod.
    let epochTimeout: Duration

    /// What ``start(_:plan:)`` settles, read by every epoch and ``finish()``.
    private struct Started: Sendable {
        var health: JobHealthCheck?
        let objects: any ObjectStore
        let prefix: String
        let nodes: Int
        let scratch: String
    }
    private let started = Mutex<Started?>(nil)

    init(submit: @escaping @Sendable () async throws -> JobHealthCheck, epochTimeout: Duration = .seconds(3600)) {
        self.submit = submit
        self.epochTimeout = epochTimeout
    }

    func start(_ context: TrainContext, plan: NodeFiles.Plan) async throws -> [Int] {
        let prefix = context.configuration.train.prefix + context.runId + "/"
        _ = try await context.objects.put(
            prefix + "plan.json", data: try JSONEncoder().encode(plan), contentType: "application/json")
        let health = try await submit()
        started.withLock {
            $0 = Started(
                health: health, objects: context.objects, prefix: prefix, nodes: plan.nodes,
                scratch: context.run.outputDirectory)
        }
        return (0..<plan.nodes).map {
            context.set.shard(rank: $0, nodes: plan.nodes, limit: context.configuration.train.imagesPerNode).count
        }
    }

    func epoch(_ epoch: Int, parameters: [Float]) async throws -> [([Float], NodeFiles.Result)] {
        guard let state = started.withLock({ $0 }) else { throw TrainError("the exchange was not started") }
        let (objects, nodes, scratch) = (state.objects, state.nodes, state.scratch)
        let directory = state.prefix + "epoch-\(epoch)/"
        _ = try await objects.put(
            directory + "params.bin", data: parameters.withUnsafeBufferPointer { Data(buffer: $0) },
            contentType: "application/octet-stream")
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: epochTimeout)
        var nextCheck = clock.now
        var results: [([Float], NodeFiles.Result)?] = Array(repeating: nil, count: nodes)
        while results.contains(where: { $0 == nil }) {
            for rank in 0..<nodes where results[rank] == nil {
                guard let result = try await Self.fetch(objects, directory + "node-\(rank).json", scratch: scratch),
                    let data = try await Self.fetch(objects, directory + "node-\(rank).bin", scratch: scratch)
                else { continue }
                // A pod's answer is outside input: the wrong size is an error naming it, not a trap later.
                guard data.count == parameters.count * MemoryLayout<Float>.size else {
                    throw TrainError(
                        "\(directory)node-\(rank).bin holds \(data.count) bytes, not the \(parameters.count) parameters (\(parameters.count * MemoryLayout<Float>.size) bytes) of this run; is the pod running another model?"
                    )
                }
                let decoded: NodeFiles.Result
                do {
                    decoded = try JSONDecoder().decode(NodeFiles.Result.self, from: result)
                } catch {
                    throw TrainError("\(directory)node-\(rank).json is not a node result: \(error)")
                }
                results[rank] = (data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, decoded)
            }
            if results.contains(where: { $0 == nil }) {
                // A failed pod fails the run now, not when the epoch times out.
                if let health = state.health, clock.now >= nextCheck {
                    try await health()
                    nextCheck = clock.now.advanced(by: .seconds(2))
                }
                guard clock.now < deadline else {
                    let missing = (0..<nodes).filter { results[$0] == nil }.map(String.init).joined(separator: ", ")
                    throw TrainError("epoch \(epoch): no answer from node(s) \(missing); check the Job's pods")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        return results.compactMap { $0 }
    }

    func finish() async throws {
        guard let state = started.withLock({ $0 }) else { return }
        _ = try await state.objects.put(state.prefix + "done", data: Data("done\n".utf8), contentType: "text/plain")
    }

    /// The object's bytes, or nil when it does not exist (yet).
    static func fetch(_ objects: any ObjectStore, _ key: String, scratch: String) async throws -> Data? {
        let path = scratch + "/fetch-\(UUID().uuidString)"
        defer { unlink(path) }
        do {
            _ = try await objects.get(key, to: path)
        } catch let error as ObjectStoreError where error.kind == .notFound {
            return nil
        }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}

/// What one pod of the kubernetes backend does (`pipeline-train shard`): train its shard one
/// epoch at a time from the parameters the coordinator publishes, until told it is done.
public enum ShardNode {
    public static func run(
        configuration: PipelineConfiguration, objects: any ObjectStore, runId: String, rank: Int, logger: Logger
    ) async throws {
        let staging = StagingArea(configuration.staging, logger: logger)
        try await staging.withRun(stage: "train", runId: "\(runId)-node-\(rank)") { run in
            try await work(configuration: configuration, objects: objects, runId: runId, rank: rank, run: run, logger: logger)
        }
    }

    private static func work(
        configuration: PipelineConfiguration, objects: any ObjectStore, runId: String, rank: Int, run: StagingRun,
        logger: Logger
    ) async throws {
        let prefix = configuration.train.prefix + runId + "/"
        let scratch = run.outputDirectory
        var planData: Data?
        for _ in 0..<2400 where planData == nil {
            planData = try await ObjectStoreExchange.fetch(objects, prefix + "plan.json", scratch: scratch)
            if planData == nil { try await Task.sleep(for: .milliseconds(250)) }
        }
        guard let planData else { throw TrainError("no \(prefix)plan.json after 10 minutes") }
        let plan = try JSONDecoder().decode(NodeFiles.Plan.self, from: planData)
        guard
            let shardData = try await ObjectStoreExchange.fetch(
                objects, prefix + "shard-\(rank).jsonl", scratch: scratch)
        else { throw TrainError("no shard list \(prefix)shard-\(rank).jsonl for rank \(rank)") }
        let entries = try String(decoding: shardData, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(TrainingSet.Entry.self, from: Data($0.utf8))
        }
        let examples = try await TrainingSet.examples(
            entries, classes: plan.classes, mean: plan.mean, standardDeviation: plan.standardDeviation,
            variant: plan.variant, run: run, objects: objects)
        logger.info("node ready", metadata: ["rank": "\(rank)", "images": "\(examples.count)"])
        let trainer = Trainer(architecture: plan.architecture, options: plan.options)
        var epoch = 1
        while true {
            if try await ObjectStoreExchange.fetch(objects, prefix + "done", scratch: scratch) != nil { return }
            guard
                let parameters = try await ObjectStoreExchange.fetch(
                    objects, prefix + "epoch-\(epoch)/params.bin", scratch: scratch)
            else {
                try await Task.sleep(for: .milliseconds(250))
                continue
            }
            trainer.setParameters(parameters.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            let seed = epoch &* 131 &+ rank
            let (loss, accuracy) = try await BlockingPools.compute.runIfActive {
                trainer.trainEpoch(examples, epoch: seed)
            }
            let directory = prefix + "epoch-\(epoch)/"
            _ = try await objects.put(
                directory + "node-\(rank).bin", data: trainer.parameters.withUnsafeBufferPointer { Data(buffer: $0) },
                contentType: "application/octet-stream")
            _ = try await objects.put(
                directory + "node-\(rank).json",
                data: try JSONEncoder().encode(
                    NodeFiles.Result(loss: loss, accuracy: accuracy, images: examples.count)),
                contentType: "application/json")
            epoch += 1
        }
    }
}
