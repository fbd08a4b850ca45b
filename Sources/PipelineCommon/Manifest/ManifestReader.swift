import Foundation

/// Loads a published dataset version from its files alone (`manifest.json` and the
/// `manifest.jsonl` beside it), checking the items against the recorded digest, so a
/// dataset can be used without access to the manifest store.
public enum ManifestReader {
    public static func load(manifestKey: String, from objects: any ObjectStore, workDirectory: String) async throws
        -> (summary: ManifestSummary, items: [DatasetItem])
    {
        let summaryPath = workDirectory + "/manifest-\(UUID().uuidString).json"
        let linesPath = summaryPath + "l"
        defer {
            unlink(summaryPath)
            unlink(linesPath)
        }
        _ = try await objects.get(manifestKey, to: summaryPath)
        let summary = try ManifestSummary.decoder.decode(
            ManifestSummary.self, from: try Data(contentsOf: URL(fileURLWithPath: summaryPath)))
        let directory = manifestKey.contains("/") ? String(manifestKey[...manifestKey.lastIndex(of: "/")!]) : ""
        let download = try await objects.get(directory + summary.items, to: linesPath)
        guard download.sha256 == summary.contentDigest else {
            throw ManifestStoreError(
                .invalid,
                "\(directory + summary.items) hashes to \(download.sha256), but manifest.json records \(summary.contentDigest)"
            )
        }
        let text = try String(contentsOfFile: linesPath, encoding: .utf8)
        let items = try text.split(separator: "\n", omittingEmptySubsequences: true).map(ManifestLine.decode)
        guard items.count == summary.itemCount else {
            throw ManifestStoreError(
                .invalid, "manifest.jsonl has \(items.count) items, manifest.json says \(summary.itemCount)")
        }
        return (summary, items)
    }
}
