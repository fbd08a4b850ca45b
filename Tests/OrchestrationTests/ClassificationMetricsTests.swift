import Foundation
import Testing

@testable import Orchestration

@Suite("Classification metrics: as scikit-learn computes them")
struct ClassificationMetricsTests {
    typealias P = ClassificationMetrics.Prediction

    @Test func accuracyMacroF1RecallAndAUROCOnAHandWorkedCase() {
        // truth:     a a a b b c
        // predicted: a a b b c c
        let predictions = [
            P(truth: "a", predicted: "a", scores: ["a": 0.8, "b": 0.1, "c": 0.1]),
            P(truth: "a", predicted: "a", scores: ["a": 0.6, "b": 0.3, "c": 0.1]),
            P(truth: "a", predicted: "b", scores: ["a": 0.3, "b": 0.5, "c": 0.2]),
            P(truth: "b", predicted: "b", scores: ["a": 0.2, "b": 0.7, "c": 0.1]),
            P(truth: "b", predicted: "c", scores: ["a": 0.1, "b": 0.4, "c": 0.5]),
            P(truth: "c", predicted: "c", scores: ["a": 0.1, "b": 0.2, "c": 0.7]),
        ]
        let m = ClassificationMetrics(predictions)
        #expect(m.images == 6)
        #expect(abs(m.accuracy - 4.0 / 6) < 1e-12)
        // F1: a = 2*2/(4+0+1) = 0.8; b = 2/(2+1+1) = 0.5; c = 2/(2+1+0) = 2/3.
        #expect(abs(m.macroF1 - (0.8 + 0.5 + 2.0 / 3) / 3) < 1e-12)
        #expect(m.recall == ["a": 2.0 / 3, "b": 0.5, "c": 1.0])
        // sklearn.metrics.roc_auc_score(y, scores, multi_class="ovr", average="macro") gives
        // a: 1.0 (every a scores above every other), b: 7/8 (0.4 ties nothing; 0.5 beats it),
        // c: 1.0; mean 0.958333…
        #expect(abs((m.macroAUROC ?? 0) - (1.0 + 7.0 / 8 + 1.0) / 3) < 1e-12, "\(String(describing: m.macroAUROC))")
    }

    @Test func tiesCountHalfAndOneClassHasNoAUROC() {
        #expect(ClassificationMetrics.auroc([(0.5, true), (0.5, false)]) == 0.5)
        #expect(ClassificationMetrics.auroc([(0.9, true), (0.1, true)]) == nil)
        let m = ClassificationMetrics([P(truth: "a", predicted: "a", scores: ["a": 1])])
        #expect(m.macroAUROC == nil && m.accuracy == 1)
    }

    @Test func percentilesByNearestRank() {
        let values = (1...100).map(Double.init)
        #expect(ClassificationMetrics.percentile(values, 50) == 50)
        #expect(ClassificationMetrics.percentile(values, 99) == 99)
        #expect(ClassificationMetrics.percentile([3, 1, 2], 50) == 2)
        #expect(ClassificationMetrics.percentile([], 50) == 0)
    }
}
