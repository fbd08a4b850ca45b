import Foundation
import Logging

/// A command trainer of an experiment, on the command backend's contract extended with scores:
/// `$PIPELINE_DATA_DIR` holds `train.csv`, `validation.csv` and `test.csv` (`id,label,` then the
/// prepared features) and `dataset.json` (classes, features); the trainer writes
/// `$PIPELINE_OUTPUT_DIR/scores.csv` (`split,id,label,` then a score column per class) for the
/// validation and test items. Run with `/bin/sh -c` in this process's directory; stopped at the
/// dataset's deadline.
struct CommandTrainer: Sendable {
    let command: String
    let logger: Logger

    func run(
        _ name: String, _ data: PreparedDataset, directory: String, deadline: ContinuousClock.Instant, seed: UInt64
    )
        async throws -> ScoreTable
    {
        let input = directory + "/data"
        let output = directory + "/output"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for (split, items) in [("train", data.train), ("validation", data.validation), ("test", data.test)] {
            var lines = [(["id", "label"] + data.featureNames).map(CSV.quote).joined(separator: ",")]
            lines += items.map { item in
                ([item.id, data.classes[item.label]].map(CSV.quote) + item.features.map { "\($0)" }).joined(
                    separator: ",")
            }
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: input + "/\(split).csv", atomically: true, encoding: .utf8)
        }
        let description: [String: Any] = ["classes": data.classes, "features": data.featureNames]
        try JSONSerialization.data(withJSONObject: description, options: [.sortedKeys]).write(
            to: URL(fileURLWithPath: input + "/dataset.json"))
        // The shell leads a process group of its own (as Foundation starts children), with what
        // it runs: the deadline stops the whole command, not just the shell.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["PIPELINE_DATA_DIR"] = input
        environment["PIPELINE_OUTPUT_DIR"] = output
        environment["PIPELINE_CLASSES"] = data.classes.joined(separator: ",")
        environment["PIPELINE_SEED"] = "\(seed)"
        process.environment = environment
        let log = directory + "/trainer.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let logHandle = FileHandle(forWritingAtPath: log)
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        let group = process.processIdentifier
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            SprintWorker.signal(group, SIGTERM)
            let grace = ContinuousClock.now + .seconds(5)
            while process.isRunning, ContinuousClock.now < grace { try await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning { SprintWorker.signal(group, SIGKILL) }
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            throw SprintError("timeout: \(name) was stopped at the dataset's deadline")
        }
        guard process.terminationStatus == 0 else {
            let last = (try? String(contentsOfFile: log, encoding: .utf8))?.split(whereSeparator: \.isNewline).last.map(
                String.init)
            throw SprintError(
                "\(name) exited with status \(process.terminationStatus)" + (last.map { ": \($0.prefix(300))" } ?? ""))
        }
        let path = output + "/scores.csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SprintError("\(name) wrote no \(path)")
        }
        let table = try ScoreTable.parse(text, model: name, file: path)
        guard Set(table.classes) == Set(data.classes) else {
            throw SprintError(
                "\(name) scored the classes \(table.classes.joined(separator: ",")), not \(data.classes.joined(separator: ","))"
            )
        }
        let expected = Set(data.validation.map { "validation:\($0.id)" } + data.test.map { "test:\($0.id)" })
        let scored = Set(
            table.rows.map {
                "\(CombinatorialFusion.validationNames.contains($0.split) ? "validation" : $0.split):\($0.id)"
            })
        guard expected.isSubset(of: scored) else {
            throw SprintError("\(name) left \(expected.subtracting(scored).count) validation or test items unscored")
        }
        return table
    }
}
