import Foundation
import Orchestration
import PipelineCommon
import TestSupport
import StageCommand
import Testing

/// `pipelinectl experiment run` as a user runs it: four datasets (one with a free-text column),
/// builtin models, a command trainer and one that crashes; MLflow runs checked; a re-run
/// skips what finished; the report looked at in a browser.
@Suite(
    "pipelinectl experiment run against the real MLflow",
    .enabled(if: Services.available("PIPELINE_TEST_MLFLOW_URI"), Services.skipReason))
struct ExperimentRunTests {
    @Test func datasetsTimesModelsFusedLoggedAndResumed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let name = "experiment-\(UUID().uuidString.prefix(8).lowercased())"
        // Three usable datasets and one with free text.
        func write(_ file: String, _ header: String, _ rows: Int, _ row: (Int) -> String) throws {
            try ([header] + (0..<rows).map(row)).joined(separator: "\n").appending("\n").write(
                toFile: dir.file(file), atomically: true, encoding: .utf8)
        }
        func noise(_ index: Int, _ salt: Int) -> Double { Double((index * 7919 + salt * 104_729) % 1000) / 250 - 2 }
        try write("blobs.csv", "a,b,label", 150) { i in
            let c = i % 3
            return "\(Double(c * 3) + noise(i, 1)),\(Double(c * -2) + noise(i, 2)),class\(c)"
        }
        try write("mixed.csv", "id,size,colour,Target", 120) { i in
            let positive = i % 2 == 0
            return
                "m\(i),\((positive ? 2.0 : 0.0) + noise(i, 3)),\(["red", "green", "blue"][i % 3]),\(positive ? "yes" : "no")"
        }
        try write("split.csv", "f1,f2,f3,split,label", 90) { i in
            let c = i % 2
            return
                "\(Double(c) * 2 + noise(i, 4)),\(noise(i, 5)),\(Double(c) + noise(i, 6)),\(["train", "train", "validation", "test", "train"][i % 5]),k\(c)"
        }
        try write("notes.csv", "x,note,label", 60) { i in "\(i),\"free remark \(i)\",\(i % 2)" }
        try """
        datasets:
          - {name: blobs, path: blobs.csv}
          - {name: mixed, path: mixed.csv}
          - {name: split, path: split.csv}
          - {name: notes, path: notes.csv}
        """.write(toFile: dir.file("datasets.yaml"), atomically: true, encoding: .utf8)
        let trainer = Services.packageRoot.appendingPathComponent("examples/experiments/nearest_centroid.py").path
        try """
        models:
          - {name: softmax, kind: softmax, epochs: 150}
          - {name: knn, kind: knn, neighbours: 5}
          - {name: centroid, command: "python3 \(trainer)"}
          - {name: crash, command: "echo about to fail >&2; exit 3"}
        """.write(toFile: dir.file("models.yaml"), atomically: true, encoding: .utf8)
        let environment = [
            "HOME": dir.path, "PATH": "/usr/bin:/bin",
            "MLFLOW_TRACKING_URI": try Services.value("PIPELINE_TEST_MLFLOW_URI"),
            "PIPELINE_LOG_FORMAT": "json",
        ]
        let arguments = [
            "experiment", "run", "--datasets", dir.file("datasets.yaml"), "--models", dir.file("models.yaml"), "--out",
            dir.file("out"), "--name", name, "--parallel", "2",
        ]
        let first = try await Command.run("pipelinectl", arguments, environment: environment, timeout: .seconds(300))
        #expect(first.status == 0, "\(first.stderr)")
        print("experiment run: \(first.stdout)")
        for dataset in ["blobs", "mixed", "split"] {
            #expect(first.stdout.contains("\(dataset): done;"), "\(first.stdout)")
            let result = try SprintJSONForTests.result(dir.file("out/\(dataset)/result.json"))
            #expect(result.status == .done && result.fusion?.models.map(\.model) == ["softmax", "knn", "centroid"])
            let crash = try #require(result.models.first { $0.model == "crash" })
            #expect(!crash.ok && crash.reason?.contains("exited with status 3: about to fail") == true, "\(crash)")
            #expect((result.fusion?.models.first?.test?.accuracy ?? 0) > 0.6, "\(dataset) is learnable")
        }
        #expect(
            first.stdout.contains("notes: skipped;") && first.stdout.contains("note is free text"), "\(first.stdout)")
        let mixed = try SprintJSONForTests.result(dir.file("out/mixed/result.json"))
        #expect(
            mixed.inspection?.labelColumn == "Target"
                && mixed.inspection?.features.map(\.kind) == [.identifier, .numeric, .categorical])
        let split = try SprintJSONForTests.result(dir.file("out/split/result.json"))
        #expect(split.inspection?.splitSource == "the column split")

        // MLflow: a parent run and a child run per dataset.
        let http = HTTPClient(logger: .init(label: "experiment-test"))
        let configuration = try PipelineConfiguration.load(environment: environment)
        let mlflow = MLflowClient(settings: configuration.mlflow, http: http)
        let experiment = try await mlflow.experiment(named: "experiments")
        let parents = try await mlflow.searchRuns(
            experimentId: experiment.experimentId, filter: "tags.experiment = '\(name)'")
        #expect(parents.count == 1)
        let parent = try #require(parents.first?.info.runId)
        let children = try await mlflow.searchRuns(
            experimentId: experiment.experimentId, filter: "tags.mlflow.parentRunId = '\(parent)'")
        #expect(children.count == 4, "\(children.map { $0.info.runName ?? "" })")

        // Again: what finished is not run again.
        let second = try await Command.run("pipelinectl", arguments + ["--no-mlflow"], environment: environment)
        #expect(
            second.status == 0 && second.stdout.components(separatedBy: "(finished before)").count == 5,
            "\(second.stdout)")

        let report = try await Command.run(
            "pipelinectl", ["experiment", "report", "--out", dir.file("out"), "--name", name], environment: environment)
        #expect(report.status == 0, "\(report.stderr)")
        let markdown = try String(contentsOfFile: dir.file("out/experiment.md"), encoding: .utf8)
        #expect(markdown.contains("4 datasets: 3 done, 1 skipped, 0 failed. Fusion beats the best single model on"))
        #expect(markdown.contains("- crash failed: crash exited with status 3"))
        let chromium = Services.settings["PIPELINE_TEST_CHROMIUM"] ?? ""
        if Services.required || !chromium.isEmpty {
            #expect(!chromium.isEmpty, "chromium is not installed: scripts/services.sh install adds it")
            let shot = dir.file("experiment.png")
            let browser = try await Command.run(
                chromium,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,900", "--screenshot=\(shot)",
                    "file://\(dir.file("out/experiment.html"))",
                ], environment: ["HOME": dir.path, "PATH": "/usr/bin:/bin"], timeout: .seconds(120))
            #expect(browser.status == 0, "\(browser.stderr)")
            try await SprintEndToEndTests.expectDrawn(try Data(contentsOf: URL(fileURLWithPath: shot)), dir: dir)
        }
    }
}

/// Results as the runner writes them (NaN-safe JSON).
enum SprintJSONForTests {
    static func result(_ path: String) throws -> DatasetResult {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(DatasetResult.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
