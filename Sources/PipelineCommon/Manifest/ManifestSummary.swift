import Foundation

/// `manifest.json`: what a version is, where its items are, and statistics over them.
public struct ManifestSummary: Sendable, Codable, Equatable {
    public struct Range: Sendable, Codable, Equatable {
        public let min: Int
        public let max: Int
        public let mean: Double
    }

    public var formatVersion = 1
    public let id: String
    public let name: String
    public let stage: String
    public let parents: [String]
    public let configHash: String
    public let config: String
    public let contentDigest: String
    /// The items file, relative to this file.
    public let items: String
    public let itemCount: Int
    public let okCount: Int
    public let rejectedCount: Int
    public let rejectedByReason: [String: Int]
    public let formats: [String: Int]
    public let totalBytes: UInt64
    public let width: Range?
    public let height: Range?
    /// Per-channel mean and standard deviation (0…1) of each variant whose items carry
    /// pixel statistics (normalize's training variant), for trainers to normalise with.
    public let channelStatistics: [String: ChannelStatistics]?
    public let createdAt: Date
    /// The objects whose items this version took out of the version it was seeded from (deleted
    /// from the bucket), with why; absent when none.
    public var removed: [RemovedItem]? = nil

    public struct ChannelStatistics: Sendable, Codable, Equatable {
        public let images: Int
        public let pixels: Int
        public let mean: [Double]
        public let standardDeviation: [Double]
    }

    static let encoder = JSONEncoder.snakeCase(pretty: true)
    static let decoder = JSONDecoder.snakeCase

    /// Folds items into the summary's counts and statistics as they stream past.
    struct Accumulator {
        var count = 0
        var ok = 0
        var rejected: [String: Int] = [:]
        var formats: [String: Int] = [:]
        var bytes: UInt64 = 0
        var widths: (min: Int, max: Int, sum: Double, n: Int) = (Int.max, Int.min, 0, 0)
        var heights: (min: Int, max: Int, sum: Double, n: Int) = (Int.max, Int.min, 0, 0)
        var pixelStatistics: [String: (images: Int, sums: PixelStatistics)] = [:]

        mutating func add(_ item: DatasetItem) {
            for (name, variant) in item.variants {
                guard let statistics = variant.statistics else { continue }
                if var entry = pixelStatistics[name] {
                    entry.images += 1
                    entry.sums.add(statistics)
                    pixelStatistics[name] = entry
                } else {
                    pixelStatistics[name] = (1, statistics)
                }
            }
            count += 1
            bytes += item.size
            if item.status == .ok {
                ok += 1
            } else {
                // Reasons read `<reason>: <details>`; the summary counts by reason.
                let reason = item.reason ?? "unknown"
                let head = reason.range(of: ": ").map { String(reason[..<$0.lowerBound]) } ?? reason
                rejected[head, default: 0] += 1
            }
            if let format = item.format { formats[format, default: 0] += 1 }
            if let width = item.width {
                widths = (min(widths.min, width), max(widths.max, width), widths.sum + Double(width), widths.n + 1)
            }
            if let height = item.height {
                heights = (
                    min(heights.min, height), max(heights.max, height), heights.sum + Double(height), heights.n + 1
                )
            }
        }

        func summary(version: DatasetVersion, id: String, contentDigest: String, itemsKey: String) -> ManifestSummary {
            ManifestSummary(
                id: id, name: version.name, stage: version.stage, parents: version.parents,
                configHash: version.configHash,
                config: version.config, contentDigest: contentDigest, items: itemsKey, itemCount: count, okCount: ok,
                rejectedCount: count - ok, rejectedByReason: rejected, formats: formats, totalBytes: bytes,
                width: widths.n > 0
                    ? Range(min: widths.min, max: widths.max, mean: widths.sum / Double(widths.n)) : nil,
                height: heights.n > 0
                    ? Range(min: heights.min, max: heights.max, mean: heights.sum / Double(heights.n)) : nil,
                channelStatistics: pixelStatistics.isEmpty
                    ? nil
                    : pixelStatistics.mapValues {
                        ChannelStatistics(
                            images: $0.images, pixels: $0.sums.pixels, mean: $0.sums.mean,
                            standardDeviation: $0.sums.standardDeviation)
                    },
                createdAt: version.createdAt)
        }
    }
}
