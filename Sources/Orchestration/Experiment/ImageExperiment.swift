import Foundation
import Learning
import Logging
import PipelineCommon
import TrainStage

/// What an experiment needs to read the pipeline's own dataset versions.
public struct PipelineContext: Sendable {
    public let configuration: PipelineConfiguration
    public let objects: any ObjectStore
    public let manifests: any ManifestStore

    public init(configuration: PipelineConfiguration, objects: any ObjectStore, manifests: any ManifestStore) {
        self.configuration = configuration
        self.objects = objects
        self.manifests = manifests
    }
}

/// A dataset version of the pipeline as an experiment dataset: its labelled images in the
/// training variant, split 60/20/20 by a hash of each source key (an augmented copy goes with
/// its original), and the builtin image classifier (CNN, or softmax on pixels) as its models.
struct ImageExperiment: Sendable {
    let pipeline: PipelineContext
    let seed: UInt64
    let logger: Logger

    /// The inspection, and the labelled images split, or nil with the gaps.
    func inspect(_ source: TabularSource, workDirectory: String) async throws -> (
        DatasetInspection,
        (set: TrainingSet, train: [TrainingSet.Entry], validation: [TrainingSet.Entry], test: [TrainingSet.Entry])?
    ) {
        let version: DatasetVersion
        if let id = source.version {
            guard let found = try await pipeline.manifests.version(id), found.status == .published else {
                throw SprintError("dataset \(source.name): no published version \(id)")
            }
            version = found
        } else {
            let name = source.pipelineDataset ?? source.name
            let stage = source.stage ?? "normalize"
            guard let found = try await pipeline.manifests.latestPublished(name: name, stage: stage) else {
                throw SprintError("dataset \(source.name): \(name) has no published \(stage) version")
            }
            version = found
        }
        var inspection = DatasetInspection(
            dataset: source.name, rows: 0, columns: ["image", "annotations"], labelColumn: "annotations",
            labelChoice: "each image's annotation (a Label Studio choice, else its first box's label)", features: [],
            classCounts: [:], splits: [:],
            splitSource:
                "made: 60/20/20 by a hash of each source key (augmented copies with their original), seed \(seed)",
            gaps: [])
        let set: TrainingSet
        do {
            set = try await TrainingSet.load(
                version: version, configuration: pipeline.configuration, manifests: pipeline.manifests,
                objects: pipeline.objects, workDirectory: workDirectory)
        } catch {
            inspection.gaps.append("\(version.id): \(error)")
            return (inspection, nil)
        }
        var train: [TrainingSet.Entry] = []
        var validation: [TrainingSet.Entry] = []
        var test: [TrainingSet.Entry] = []
        for entry in set.entries {
            if TrainingSet.isValidation(entry.sourceKey, fraction: 0.2, seed: seed) {
                validation.append(entry)
            } else if TrainingSet.isValidation(entry.sourceKey, fraction: 0.25, seed: seed &+ 1) {
                test.append(entry)
            } else {
                train.append(entry)
            }
        }
        inspection = DatasetInspection(
            dataset: source.name, rows: set.entries.count, columns: inspection.columns, labelColumn: "annotations",
            labelChoice: inspection.labelChoice,
            features: [
                .init(
                    name: "\(set.variant.name) \(set.variant.width)x\(set.variant.height) of \(version.id)",
                    kind: .numeric,
                    distinct: set.variant.width * set.variant.height * 3)
            ],
            classCounts: Dictionary(set.entries.map { ($0.label, 1) }, uniquingKeysWith: +),
            splits: ["train": train.count, "validation": validation.count, "test": test.count],
            splitSource: inspection.splitSource, gaps: [])
        if set.entries.count < 20 { inspection.gaps.append("\(set.entries.count) labelled images, fewer than 20") }
        if train.isEmpty || validation.isEmpty || test.isEmpty {
            inspection.gaps.append("a split is empty (\(inspection.splits)): more images are needed")
        }
        guard inspection.usable else { return (inspection, nil) }
        return (inspection, (set, train, validation, test))
    }

    /// Trains `spec` on the training images and scores the validation and test ones.
    func scores(
        _ spec: ImageModelSpec, named name: String, set: TrainingSet,
        examples: (train: [Example], validation: [Example], test: [Example]),
        ids: (validation: [TrainingSet.Entry], test: [TrainingSet.Entry])
    ) async throws -> ScoreTable {
        let architecture = Architecture(
            input: [3, set.variant.height, set.variant.width], convolutions: spec.convolutions,
            classes: set.classes.count)
        let options = TrainingOptions(epochs: spec.epochs, seed: seed)
        return try await BlockingPools.compute.runIfActive {
            let trainer = Trainer(architecture: architecture, options: options)
            _ = trainer.fit(examples.train, validation: examples.validation)
            var rows: [ScoreTable.Row] = []
            for (split, entries, items) in [
                ("validation", ids.validation, examples.validation), ("test", ids.test, examples.test),
            ] {
                for (entry, example) in zip(entries, items) {
                    rows.append(
                        .init(
                            split: split, id: entry.sourceKey, label: entry.label,
                            scores: trainer.predict(example.pixels).map(Double.init)))
                }
            }
            return ScoreTable(model: name, classes: set.classes, rows: rows)
        }
    }
}
