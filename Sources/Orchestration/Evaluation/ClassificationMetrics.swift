import Foundation

/// Quality of a classifier's predictions against the true labels, as scikit-learn computes
/// them: accuracy, macro F1 over every label seen (true or predicted), recall per true class,
/// and the macro mean of one-vs-rest ROC AUCs over the classes that have positives and
/// negatives and a score from the model.
public struct ClassificationMetrics: Sendable, Equatable, Codable {
    public let images: Int
    public let accuracy: Double
    public let macroF1: Double
    /// nil when no class has both positives and negatives with scores.
    public let macroAUROC: Double?
    public let recall: [String: Double]

    public struct Prediction: Sendable {
        public let truth: String
        public let predicted: String
        /// Class → score (probability) for every class the model knows.
        public let scores: [String: Double]

        public init(truth: String, predicted: String, scores: [String: Double]) {
            self.truth = truth
            self.predicted = predicted
            self.scores = scores
        }
    }

    public init(_ predictions: [Prediction]) {
        images = predictions.count
        accuracy =
            predictions.isEmpty
            ? 0 : Double(predictions.filter { $0.truth == $0.predicted }.count) / Double(predictions.count)
        let truths = Set(predictions.map(\.truth))
        let labels = truths.union(predictions.map(\.predicted)).sorted()
        var f1: [Double] = []
        var recall: [String: Double] = [:]
        for label in labels {
            let tp = predictions.filter { $0.truth == label && $0.predicted == label }.count
            let fp = predictions.filter { $0.truth != label && $0.predicted == label }.count
            let fn = predictions.filter { $0.truth == label && $0.predicted != label }.count
            f1.append(tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn))
            if truths.contains(label) { recall[label] = Double(tp) / Double(tp + fn) }
        }
        macroF1 = f1.isEmpty ? 0 : f1.reduce(0, +) / Double(f1.count)
        self.recall = recall
        var aucs: [Double] = []
        for label in truths.sorted() {
            guard predictions.allSatisfy({ $0.scores[label] != nil }) else { continue }
            let scored = predictions.map { ($0.scores[label]!, $0.truth == label) }
            if let auc = Self.auroc(scored) { aucs.append(auc) }
        }
        macroAUROC = aucs.isEmpty ? nil : aucs.reduce(0, +) / Double(aucs.count)
    }

    /// The area under the ROC curve as the Mann–Whitney statistic (ties count half, through
    /// average ranks); nil without both positives and negatives.
    static func auroc(_ scored: [(score: Double, positive: Bool)]) -> Double? {
        let positives = scored.filter(\.positive).count
        let negatives = scored.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let sorted = scored.sorted { $0.score < $1.score }
        var rankSum = 0.0
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count, sorted[end + 1].score == sorted[index].score { end += 1 }
            let rank = Double(index + end + 2) / 2  // ranks are 1-based
            for k in index...end where sorted[k].positive { rankSum += rank }
            index = end + 1
        }
        let p = Double(positives)
        return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }

    /// The value at `percentile` (0–100) by the nearest-rank method.
    public static func percentile(_ values: [Double], _ percentile: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((percentile / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
