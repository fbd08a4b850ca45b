import Foundation
import Learning
import Logging
import PipelineCommon

/// Runs any trainer process (`train.command`, through `/bin/sh -c`), one per node.
///
/// The contract, in the process's environment:
/// - `PIPELINE_DATA_DIR`: `labels.jsonl` (`{"file", "label", "split": "train"|"validation", "source_key"}`
///   a line, files relative to the directory), the images under `images/`, and `dataset.json`
///   (`classes`, `mean`, `std`, `dataset_version`, `variant`).
/// - `PIPELINE_OUTPUT_DIR`: where the trainer writes its model; every file there becomes an
///   artifact under `model/` (rank 0's).
/// - `PIPELINE_EPOCHS`, `PIPELINE_RANK`, `PIPELINE_WORLD_SIZE`, `PIPELINE_DATASET_VERSION`,
///   `PIPELINE_RUN_ID`, `PIPELINE_SEED`, `PIPELINE_BATCH_SIZE`, `PIPELINE_LEARNING_RATE`, and the
///   builtin model's settings for a trainer of the same network: `PIPELINE_MOMENTUM`,
///   `PIPELINE_WEIGHT_DECAY`, `PIPELINE_PATIENCE`, `PIPELINE_CONVOLUTIONS` (channels, `8,16,32`).
/// - On standard output, a JSON object a line (e.g. `{"epoch": 3, "loss": 0.4, "val_accuracy": 0.9}`)
///   is logged to MLflow as it arrives (numbers become metrics at step `epoch`); other lines go
///   to the log. Exit status 0 is success; anything else fails the run with the last lines shown.
struct CommandBackend: TrainBackend {
    func train(_ context: TrainContext) async throws -> BackendResult {
        let settings = context.configuration.train
        guard let command = settings.command else { throw TrainError("train.command is not set") }
        var results: [(status: Int32, metrics: [String: Double], tail: [String], output: String)] = []
        try await withThrowingTaskGroup(of: (Int, (Int32, [String: Double], [String], String)).self) { group in
            for rank in 0..<settings.nodes {
                let directory = context.run.directory + "/node-\(rank)"
                let data = try await prepare(context, rank: rank, directory: directory + "/data")
                let output = directory + "/output"
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                var environment = ProcessInfo.processInfo.environment
                environment.merge([
                    "PIPELINE_DATA_DIR": data, "PIPELINE_OUTPUT_DIR": output, "PIPELINE_EPOCHS": "\(settings.epochs)",
                    "PIPELINE_RANK": "\(rank)", "PIPELINE_WORLD_SIZE": "\(settings.nodes)",
                    "PIPELINE_DATASET_VERSION": context.set.version.id, "PIPELINE_RUN_ID": context.runId,
                    "PIPELINE_SEED": "\(settings.seed)", "PIPELINE_BATCH_SIZE": "\(settings.batchSize)",
                    "PIPELINE_LEARNING_RATE": "\(settings.learningRate)",
                    "PIPELINE_MOMENTUM": "\(settings.momentum)", "PIPELINE_WEIGHT_DECAY": "\(settings.weightDecay)",
                    "PIPELINE_PATIENCE": "\(settings.patience)",
                    "PIPELINE_CONVOLUTIONS": settings.convolutions.map(String.init).joined(separator: ","),
                ]) { $1 }
                group.addTask {
                    let (status, metrics, tail) = try await Self.run(
                        command, environment: environment, logger: context.logger,
                        onMetrics: rank == 0 ? context.logEpoch : nil)
                    return (rank, (status, metrics, tail, output))
                }
            }
            var byRank: [Int: (Int32, [String: Double], [String], String)] = [:]
            for try await (rank, result) in group { byRank[rank] = result }
            results = (0..<settings.nodes).map { byRank[$0]! }.map { ($0.0, $0.1, $0.2, $0.3) }
        }
        if let failed = results.firstIndex(where: { $0.status != 0 }) {
            throw TrainError(
                "the trainer (\(command)) of node \(failed) exited with status \(results[failed].status); its last lines:\n"
                    + results[failed].tail.joined(separator: "\n"))
        }
        var artifacts: [String: String] = [:]
        let output = results[0].output
        if let files = FileManager.default.enumerator(atPath: output) {
            for case let file as String in files {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: output + "/" + file, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                {
                    artifacts["model/" + file] = output + "/" + file
                }
            }
        }
        guard !artifacts.isEmpty else {
            throw TrainError("the trainer (\(command)) wrote no model into PIPELINE_OUTPUT_DIR")
        }
        return BackendResult(artifacts: artifacts, metrics: results[0].metrics, history: [], confusion: nil, model: nil)
    }

    /// The node's data directory: its shard and the validation images, with labels.
    private func prepare(_ context: TrainContext, rank: Int, directory: String) async throws -> String {
        let settings = context.configuration.train
        let entries =
            context.set.shard(rank: rank, nodes: settings.nodes, limit: settings.imagesPerNode) + context.set.validation
        try FileManager.default.createDirectory(atPath: directory + "/images", withIntermediateDirectories: true)
        let staged = try await TrainingSet.stage(entries.map(\.key), run: context.run, objects: context.objects)
        var lines = ""
        for (index, (entry, file)) in zip(entries, staged).enumerated() {
            let name = "images/\(index).\(context.set.variant.format.fileExtension)"
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
            try FileManager.default.copyItem(atPath: file.path, toPath: directory + "/" + name)
            let line: [String: String] = [
                "file": name, "label": entry.label, "split": entry.validation ? "validation" : "train",
                "source_key": entry.sourceKey,
            ]
            lines += String(decoding: try JSONEncoder.canonical.encode(line), as: UTF8.self) + "\n"
        }
        try lines.write(toFile: directory + "/labels.jsonl", atomically: true, encoding: .utf8)
        struct Description: Encodable {
            let classes: [String]
            let mean: [Double]
            let std: [Double]
            let dataset_version: String
            let variant: VariantSpec
        }
        try JSONEncoder.canonical.encode(
            Description(
                classes: context.set.classes, mean: context.set.mean, std: context.set.standardDeviation,
                dataset_version: context.set.version.id, variant: context.set.variant)
        ).write(to: URL(fileURLWithPath: directory + "/dataset.json"))
        return directory
    }

    /// Runs the trainer, streaming its JSON lines into `onMetrics`; returns its status, its last
    /// metrics and its last 20 lines of output.
    static func run(
        _ command: String, environment: [String: String], logger: Logger,
        onMetrics: (@Sendable ([String: Double], Int) async -> Void)?
    ) async throws -> (Int32, [String: Double], [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        // The exit comes as an event, and both pipes are read on threads of their own
        // (``lines(of:)``): no blocking read or wait on the cooperative pool.
        let (exits, exited) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { finished in
            exited.yield(finished.terminationStatus)
            exited.finish()
        }
        try process.run()
        let errors = Task { () -> [String] in
            var last: [String] = []
            for await line in Self.lines(of: stderr.fileHandleForReading) { last = Array((last + [line]).suffix(20)) }
            return last
        }
        var last: [String: Double] = [:]
        var tail: [String] = []
        for await line in Self.lines(of: stdout.fileHandleForReading) {
            tail = Array((tail + [line]).suffix(20))
            guard line.hasPrefix("{"),
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            else {
                logger.info("trainer", metadata: ["line": "\(line)"])
                continue
            }
            var metrics: [String: Double] = [:]
            for (key, value) in object where key != "epoch" {
                if let number = value as? Double { metrics[key] = number }
            }
            let epoch = (object["epoch"] as? NSNumber)?.intValue ?? 0
            last.merge(metrics) { $1 }
            if let onMetrics, !metrics.isEmpty { await onMetrics(metrics, epoch) }
        }
        var status: Int32 = -1
        for await code in exits { status = code }
        let stderrLines = await errors.value
        return (status, last, Array((tail + stderrLines).suffix(20)))
    }
}

extension CommandBackend {
    /// The lines a pipe carries, read on a thread of their own (reads block).
    static func lines(of handle: FileHandle) -> AsyncStream<String> {
        AsyncStream { continuation in
            let thread = Thread {
                var pending = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                        pending = Data(pending[(newline + 1)...])
                    }
                }
                if !pending.isEmpty { continuation.yield(String(decoding: pending, as: UTF8.self)) }
                continuation.finish()
            }
            thread.start()
        }
    }
}
