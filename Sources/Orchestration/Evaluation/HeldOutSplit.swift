import Foundation
import PipelineCommon
import TrainStage

/// The images a task evaluates on: the labelled items of a dataset version that training held
/// out (the same hash split, fraction and seed), with their stored originals.
public enum HeldOutSplit {
    public static func images(
        of dataset: String, fraction: Double, seed: UInt64, limit: Int?, manifests: any ManifestStore
    ) async throws -> [LabelledImage] {
        guard let version = try await manifests.version(dataset) else {
            throw SprintError("dataset version \(dataset) is not in the manifest store")
        }
        let items = try await allItems(of: version.id, manifests)
        // A normalize version's items name its variants; the originals are its ingest parent's.
        var originals: [String: (key: String, size: UInt64)] = [:]
        if items.contains(where: { $0.variants["original"] == nil }), let parent = version.parents.first {
            for item in try await allItems(of: parent, manifests) {
                if let original = item.variants["original"] {
                    originals[item.sourceKey] = (original.key, original.size)
                }
            }
        }
        var images: [LabelledImage] = []
        for item in items.sorted(by: { $0.sourceKey < $1.sourceKey }) where item.status == .ok {
            guard TrainingSet.isValidation(item.sourceKey, fraction: fraction, seed: seed),
                let label = TrainingSet.label(of: item)
            else { continue }
            guard
                let original = item.variants["original"].map({ ($0.key, $0.size) })
                    ?? originals[item.sourceKey].map({ ($0.key, $0.size) })
            else { continue }
            images.append(
                LabelledImage(
                    key: item.sourceKey, object: original.0, size: original.1, sha256: item.sha256, label: label))
            if let limit, images.count >= limit { break }
        }
        return images
    }

    static func allItems(of version: String, _ manifests: any ManifestStore) async throws -> [DatasetItem] {
        var items: [DatasetItem] = []
        var after: String?
        repeat {
            let page = try await manifests.items(of: version, after: after, limit: 1000)
            items += page
            after = page.count == 1000 ? page.last?.sourceKey : nil
        } while after != nil
        return items
    }
}
