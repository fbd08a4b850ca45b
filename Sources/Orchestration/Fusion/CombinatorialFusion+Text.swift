import Foundation

extension CombinatorialFusion.Result {
    /// The analysis as `experiment fuse` prints it: models, every combination, the choices.
    public func text() -> String {
        func pct(_ value: Double?) -> String { value.map { String(format: "%6.2f%%", $0 * 100) } ?? "      –" }
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }
        let width = max(
            24, (models.map(\.model.count) + combinations.map { $0.models.joined(separator: "+").count }).max() ?? 0)
        func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        var lines = [
            "classes: \(classes.joined(separator: ", ")); validation items: \(validationItems); test items: \(testItems)",
            "", pad("model") + "  val acc   val AUROC  test acc  test AUROC  DS      PS",
        ]
        for model in models {
            lines.append(
                pad(model.model) + "  \(pct(model.validation.accuracy))   \(number(model.validation.auroc))     "
                    + "\(pct(model.test?.accuracy))   \(number(model.test?.auroc))      "
                    + "\(String(format: "%.4f", model.diversityStrength))  \(String(format: "%.4f", model.performanceStrength))"
            )
        }
        lines += ["", pad("combination") + "  method    val acc   val AUROC  test acc  test AUROC"]
        for combination in combinations {
            lines.append(
                pad(combination.models.joined(separator: "+")) + "  "
                    + combination.method.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                    + "  \(pct(combination.validation.accuracy))   \(number(combination.validation.auroc))     "
                    + "\(pct(combination.test?.accuracy))   \(number(combination.test?.auroc))")
        }
        let fusion = bestFusion.models.joined(separator: "+") + " (\(bestFusion.method.rawValue))"
        lines += [
            "",
            "best single model on validation: \(bestSingle.model) (test: \(pct(bestSingle.test?.accuracy)), AUROC \(number(bestSingle.test?.auroc)))",
            "best fusion on validation:       \(fusion) (test: \(pct(bestFusion.test?.accuracy)), AUROC \(number(bestFusion.test?.auroc)))",
        ]
        if let onTest = bestFusionOnTest {
            lines.append(
                "best fusion on test (for reference, not a choice): \(onTest.models.joined(separator: "+")) (\(onTest.method.rawValue)): \(pct(onTest.test?.accuracy)), AUROC \(number(onTest.test?.auroc))"
            )
        }
        lines.append(
            fusionBeatsBestSingle ? "fusion beats the best single model" : "fusion does not beat the best single model")
        return lines.joined(separator: "\n") + "\n"
    }
}
