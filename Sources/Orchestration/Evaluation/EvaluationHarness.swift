import Foundation
import PipelineCommon

/// An image of a dataset's held-out split, with its true label.
public struct LabelledImage: Sendable, Codable, Equatable {
    /// The item's source key.
    public let key: String
    /// The stored original.
    public let object: String
    public let size: UInt64
    public let sha256: String
    public let label: String
}

/// What one image gave.
public struct ImageOutcome: Sendable, Codable, Equatable {
    public let key: String
    public let truth: String
    public var predicted: String?
    public var scores: [String: Double]?
    public var latencyMilliseconds: Double
    public var error: String?
}

/// Drives one model over the same images, whatever serves it (in process for `evaluate`, over
/// HTTP for `service`), and turns what came back into the same figures: one code path for the
/// numbers of both.
public enum EvaluationHarness {
    /// Calls `predict` on every image, `concurrency` at a time, timing each call.
    public static func run(
        _ images: [LabelledImage], concurrency: Int,
        predict: @escaping @Sendable (LabelledImage) async throws -> [String: Double]
    ) async throws -> (outcomes: [ImageOutcome], seconds: Double) {
        let started = ContinuousClock.now
        let outcomes = try await concurrentMap(count: images.count, limit: max(1, concurrency)) { index in
            let image = images[index]
            let begin = ContinuousClock.now
            do {
                let scores = try await predict(image)
                let best = scores.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }
                return ImageOutcome(
                    key: image.key, truth: image.label, predicted: best?.key, scores: scores,
                    latencyMilliseconds: (ContinuousClock.now - begin).seconds * 1000)
            } catch {
                return ImageOutcome(
                    key: image.key, truth: image.label,
                    latencyMilliseconds: (ContinuousClock.now - begin).seconds * 1000,
                    error: "\(error)")
            }
        }
        return (outcomes, (ContinuousClock.now - started).seconds)
    }

    /// The task's figures: quality over the images that were predicted, speed over all of them.
    public static func figures(_ outcomes: [ImageOutcome], seconds: Double) -> (
        metrics: [String: Double], recall: [String: Double]
    ) {
        let predicted = outcomes.compactMap { outcome -> ClassificationMetrics.Prediction? in
            guard let label = outcome.predicted, let scores = outcome.scores else { return nil }
            return .init(truth: outcome.truth, predicted: label, scores: scores)
        }
        let quality = ClassificationMetrics(predicted)
        let latencies = outcomes.filter { $0.error == nil }.map(\.latencyMilliseconds)
        var metrics: [String: Double] = [
            "images": Double(outcomes.count), "images_failed": Double(outcomes.count - predicted.count),
            "accuracy": quality.accuracy, "macro_f1": quality.macroF1,
            "images_per_second": seconds > 0 ? Double(predicted.count) / seconds : 0, "wall_seconds": seconds,
        ]
        // No latency without a prediction: a 0 would read as the fastest model.
        if !latencies.isEmpty {
            metrics["latency_p50_ms"] = ClassificationMetrics.percentile(latencies, 50)
            metrics["latency_p99_ms"] = ClassificationMetrics.percentile(latencies, 99)
        }
        if let auc = quality.macroAUROC { metrics["macro_auroc"] = auc }
        return (metrics, quality.recall)
    }
}
