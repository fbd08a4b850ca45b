import Foundation
import Learning
import Logging
import PipelineCommon

/// The images a training run uses: the items of a normalize version that have a label and
/// the training variant, split deterministically into training and validation, and sharded
/// across nodes.
public struct TrainingSet: Sendable {
    public struct Entry: Sendable, Codable, Equatable {
        public let sourceKey: String
        /// The training variant's object key.
        public let key: String
        public let label: String
        public let validation: Bool
    }

    public let version: DatasetVersion
    public let variant: VariantSpec
    public let classes: [String]
    public let entries: [Entry]
    /// Items left out because no annotation gives them a class.
    public let unlabelled: Int
    public let mean: [Double]
    public let standardDeviation: [Double]

    public var training: [Entry] { entries.filter { !$0.validation } }
    public var validation: [Entry] { entries.filter(\.validation) }

    /// The class of an item: its Label Studio choice (a whole-image label), else the label
    /// of its first box (the COCO category).
    public static func label(of item: DatasetItem) -> String? {
        guard let annotations = try? JSONDecoder().decode([ImageAnnotation].self, from: Data(item.annotations.utf8))
        else { return nil }
        return annotations.first { $0.box == nil }?.label ?? annotations.first?.label
    }

    /// Whether the item of source key `key` is held out: a hash of the image it stands for
    /// (its original, for an augmented copy), so augmented copies land on the same side as
    /// their original.
    public static func isValidation(_ key: String, fraction: Double, seed: UInt64) -> Bool {
        let base = DatasetItem.originalKey(of: key)
        let digest = SHA256.hash(Data("\(seed):\(base)".utf8))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Double(value) / Double(UInt64.max) < fraction
    }

    public static func load(
        version: DatasetVersion, configuration: PipelineConfiguration, manifests: any ManifestStore,
        objects: any ObjectStore, workDirectory: String
    ) async throws -> TrainingSet {
        // What normalize made of this version, as the version recorded it.
        guard let variantName = version.recordedSetting("train_variant"),
            let variants = version.recordedSetting("variants").flatMap({ try? VariantSpec.parseList($0).get() })
        else {
            throw TrainError(
                "dataset version \(version.id) (stage \(version.stage)) records no variants and training variant; train on a normalize version"
            )
        }
        guard let variant = variants.first(where: { $0.name == variantName }) else {
            throw TrainError(
                "the training variant \(variantName) of \(version.id) is not among its variants (\(variants.map(\.name).joined(separator: ", "))); normalize it again with normalize.train_variant set to one of normalize.variants"
            )
        }
        guard variant.fit != .contain else {
            throw TrainError(
                "the training variant \(variantName) uses fit contain, so its images differ in size; use pad, cover or fill"
            )
        }
        var entries: [Entry] = []
        var unlabelled = 0
        var after: String?
        repeat {
            let page = try await manifests.items(of: version.id, after: after, limit: 1000)
            for item in page where item.status == .ok {
                guard let stored = item.variants[variantName] else { continue }
                guard let label = label(of: item) else {
                    unlabelled += 1
                    continue
                }
                entries.append(
                    Entry(
                        sourceKey: item.sourceKey, key: stored.key, label: label,
                        validation: isValidation(
                            item.sourceKey, fraction: configuration.train.validationFraction,
                            seed: configuration.train.seed)))
            }
            after = page.count == 1000 ? page.last?.sourceKey : nil
        } while after != nil
        let classes = Array(Set(entries.map(\.label))).sorted()
        guard classes.count >= 2 else {
            throw TrainError(
                "\(version.id) has \(classes.count) class(es) among \(entries.count) labelled images (\(unlabelled) unlabelled); a classifier needs at least 2: annotate the images (Label Studio choices or COCO categories)"
            )
        }
        // The channel statistics normalize recorded for the training variant.
        var mean = [0.5, 0.5, 0.5]
        var deviation = [0.25, 0.25, 0.25]
        if let uri = version.manifestURI {
            let key = Self.key(of: uri, in: objects.location)
            if let key,
                let summary = try? await ManifestReader.load(
                    manifestKey: key, from: objects, workDirectory: workDirectory
                ).summary, let statistics = summary.channelStatistics?[variantName]
            {
                mean = statistics.mean
                deviation = statistics.standardDeviation
            }
        }
        return TrainingSet(
            version: version, variant: variant, classes: classes, entries: entries, unlabelled: unlabelled, mean: mean,
            standardDeviation: deviation)
    }

    /// Stages each distinct key once (entries with the same bytes share a variant object) and
    /// returns the files in the order of `keys`.
    static func stage(_ keys: [String], run: StagingRun, objects: any ObjectStore) async throws -> [StagedFile] {
        let unique = Array(Set(keys)).sorted()
        let files = try await concurrentMap(count: unique.count, limit: 8) { index in
            try await run.stage(unique[index], from: objects)
        }
        let byKey = Dictionary(uniqueKeysWithValues: zip(unique, files))
        return keys.map { byKey[$0]! }
    }

    static func key(of uri: String, in location: ObjectStoreLocation) -> String? {
        let root = location.uri(of: "")
        return uri.hasPrefix(root) ? String(uri.dropFirst(root.count)) : nil
    }

    /// The training entries of node `rank` of `nodes`: every `nodes`-th entry in key order,
    /// at most `limit`.
    public func shard(rank: Int, nodes: Int, limit: Int) -> [Entry] {
        let training = self.training
        return Array(stride(from: rank, to: training.count, by: nodes).prefix(limit).map { training[$0] })
    }

    /// Downloads `entries` through the staging run and decodes them into normalised inputs.
    public func examples(_ entries: [Entry], run: StagingRun, objects: any ObjectStore) async throws -> [Example] {
        try await Self.examples(
            entries, classes: classes, mean: mean, standardDeviation: standardDeviation, variant: variant, run: run,
            objects: objects)
    }

    static func examples(
        _ entries: [Entry], classes: [String], mean: [Double], standardDeviation: [Double], variant: VariantSpec,
        run: StagingRun, objects: any ObjectStore
    ) async throws -> [Example] {
        let staged = try await Self.stage(entries.map(\.key), run: run, objects: objects)
        return try await BlockingPools.compute.runIfActive {
            try zip(entries, staged).map { entry, file in
                let pixels = try ImagePixels.load(file.path)
                guard pixels.width == variant.width, pixels.height == variant.height else {
                    throw TrainError(
                        "\(entry.key) is \(pixels.width)×\(pixels.height), not the training variant's \(variant.width)×\(variant.height)"
                    )
                }
                return Example(
                    pixels: ModelFile.normalise(pixels, mean: mean, standardDeviation: standardDeviation),
                    label: classes.firstIndex(of: entry.label) ?? 0)
            }
        }
    }

}

public struct TrainError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
