import Foundation
import IngestStage
import Learning
import NormalizeStage
import Orchestration
import PipelineCommon
import TestSupport
import Testing

/// A dataset version of the pipeline as an experiment dataset, on the embedded default (file
/// store, SQLite): labelled shapes ingested and normalized, then the builtin CNN and softmax on
/// their training variant, fused; a tabular model does not apply.
@Suite("pipelinectl experiment run on a dataset version of the pipeline")
struct ImageExperimentTests {
    @Test func theBuiltinImageModelsAreTrainedScoredAndFused() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let environment = [
            "HOME": dir.path, "PATH": "/usr/bin:/bin", "PIPELINE_OBJECT_STORE_URL": "file://\(dir.file("objects"))",
            "PIPELINE_MANIFEST_URL": "sqlite://\(dir.file("manifest.db"))",
            "PIPELINE_STAGING_ROOT": dir.file("staging"),
            "PIPELINE_STAGING_RESERVE_MIB": "16", "PIPELINE_DATASET": "shapes",
            "PIPELINE_NORMALIZE_VARIANTS": "train:32x32:pad:png", "PIPELINE_LOG_FORMAT": "json",
        ]
        let (configuration, logger, _, objects, manifests) = try await Services.connect(
            environment, label: "image-experiment")
        try await SyntheticShapes.upload(
            count: 900, seed: 11, size: 32, to: objects, rawPrefix: "raw/", annotationsKey: "annotations/ls.json",
            workDirectory: dir.path)
        let ingested = try #require(
            try await Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger)
                .runOnce().published)
        let normalized = try #require(
            try await Normalizer(
                configuration: configuration, objects: objects, manifests: manifests, resizer: VipsResizer(),
                logger: logger
            ).run(input: ingested).version)
        // Tabular files in the store: one file, and a folder of split files.
        func table(_ rows: Range<Int>) -> Data {
            Data(
                (["a,b,label"]
                    + rows.map { i in "\(Double(i % 2) * 3 + Double(i % 7) / 7),\(Double(i % 5) / 5),c\(i % 2)" })
                    .joined(separator: "\n").utf8)
        }
        _ = try await objects.put("tables/blobs.csv", data: table(0..<120), contentType: "text/csv")
        for (name, rows) in [("train", 0..<60), ("validation", 60..<80), ("test", 80..<100)] {
            _ = try await objects.put("tables/split/\(name).csv", data: table(rows), contentType: "text/csv")
        }
        try """
        datasets:
          - {name: stored, path: "store:tables/blobs.csv"}
          - {name: stored-splits, path: "store:tables/split/"}
          - {name: shapes, version: \(normalized.id)}
          - {name: latest, dataset: shapes, stage: normalize}
          - {name: unlabelled, version: \(ingested.id)}
        """.write(toFile: dir.file("datasets.yaml"), atomically: true, encoding: .utf8)
        try """
        models:
          - {name: cnn, kind: cnn, epochs: 15}
          - {name: pixels, kind: image-softmax, epochs: 8}
          - {name: knn, kind: knn}
          - {name: linear, kind: softmax, epochs: 100}
        """.write(toFile: dir.file("models.yaml"), atomically: true, encoding: .utf8)
        let run = try await Command.run(
            "pipelinectl",
            [
                "experiment", "run", "--datasets", dir.file("datasets.yaml"), "--models", dir.file("models.yaml"),
                "--out",
                dir.file("out"), "--no-mlflow",
            ], environment: environment, timeout: .seconds(300))
        #expect(run.status == 0, "\(run.stderr)")
        print("image experiment: \(run.stdout)")
        let result = try SprintJSONForTests.result(dir.file("out/shapes/result.json"))
        #expect(result.status == .done && result.fusion?.models.map(\.model) == ["cnn", "pixels"], "\(result)")
        #expect(result.models.first { $0.model == "knn" }?.reason?.hasPrefix("not applicable") == true)
        #expect(result.inspection?.splits.values.reduce(0, +) == result.inspection?.rows)
        #expect((result.fusion?.models.first?.test?.accuracy ?? 0) > 0.5, "the CNN learns the shapes")
        let latest = try SprintJSONForTests.result(dir.file("out/latest/result.json"))
        #expect(latest.status == .done && latest.fusion?.validationItems == result.fusion?.validationItems)
        // The ingest version has no training variant: a schema gap, the dataset skipped.
        let unlabelled = try SprintJSONForTests.result(dir.file("out/unlabelled/result.json"))
        #expect(unlabelled.status == .skipped, "\(unlabelled)")
        #expect(!run.stdout.contains("failed: knn"), "a model that does not apply is not a failure")
        for name in ["stored", "stored-splits"] {
            let stored = try SprintJSONForTests.result(dir.file("out/\(name)/result.json"))
            #expect(stored.status == .done && stored.fusion?.models.map(\.model) == ["knn", "linear"], "\(stored)")
        }
        let splits = try SprintJSONForTests.result(dir.file("out/stored-splits/result.json"))
        #expect(splits.inspection?.splits == ["train": 60, "validation": 20, "test": 20])
    }
}
