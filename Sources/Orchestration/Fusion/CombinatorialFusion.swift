import Foundation

/// Combinatorial Fusion Analysis (Hsu, Chung and Kristal's CFA) over models' per-item class
/// scores, exactly as the README's "Combinatorial fusion" section writes it:
///
/// - scores are min-max normalised per model and class over the items of the split
///   (a constant score becomes 0);
/// - ranks: 1 for the highest normalised score, ties given their average rank;
/// - the rank-score characteristic f_A(i) is the normalised score at rank i;
/// - cognitive diversity CD(A,B) = sqrt(Σ_i (f_A(i) − f_B(i))² / n), per class, averaged over classes;
/// - diversity strength DS(A) = the mean CD(A,B) over the other models B of the combination;
/// - performance strength PS(A) = the model's validation AUROC (two classes) or accuracy;
/// - for every subset of two or more models, six combinations: average score, average rank,
///   and both weighted by DS and by PS (score Σ wᵢsᵢ / Σ wᵢ; rank Σ rᵢ/wᵢ / Σ 1/wᵢ, lower is
///   better; a weight of 0 counts as 1e-9);
/// - an item's prediction is the class with the best fused value (highest score, lowest rank);
///   AUROC is on the positive class's fused value for two classes (the second score column),
///   else the macro one-vs-rest mean (a rank's value is its negation).
///
/// DS, PS and the choice of the best fusion use the validation split only; the test figures
/// are those of the choice made on validation (the best on test is reported apart, marked).
public enum CombinatorialFusion {
    public enum Method: String, Sendable, Codable, CaseIterable {
        case averageScore = "score"
        case averageRank = "rank"
        case diversityScore = "score-ds"
        case diversityRank = "rank-ds"
        case performanceScore = "score-ps"
        case performanceRank = "rank-ps"

        var usesRanks: Bool { self == .averageRank || self == .diversityRank || self == .performanceRank }
    }

    /// Accuracy and AUROC on one split.
    public struct Figures: Sendable, Codable, Equatable {
        public let accuracy: Double
        public let auroc: Double?
    }

    public struct ModelResult: Sendable, Codable, Equatable {
        public let model: String
        public let validation: Figures
        public let test: Figures?
        /// Over every other model.
        public let diversityStrength: Double
        public let performanceStrength: Double
    }

    public struct CombinationResult: Sendable, Codable, Equatable {
        public let models: [String]
        public let method: Method
        public let validation: Figures
        public let test: Figures?
    }

    public struct Result: Sendable, Codable, Equatable {
        public let classes: [String]
        public let validationItems: Int
        public let testItems: Int
        public let models: [ModelResult]
        public let combinations: [CombinationResult]
        /// Chosen on validation (AUROC for two classes, else accuracy).
        public let bestSingle: ModelResult
        public let bestFusion: CombinationResult
        /// Best on the test split itself, for reference only: not a choice one could have made.
        public let bestFusionOnTest: CombinationResult?
        /// Whether the fusion chosen on validation beats the single model chosen on validation
        /// (strictly, in AUROC for two classes, else accuracy), on test when there is one, else on
        /// validation.
        public let fusionBeatsBestSingle: Bool
    }

    // MARK: - The pieces, each on its own

    /// Min-max normalised; a constant vector becomes zeros.
    public static func normalise(_ scores: [Double]) -> [Double] {
        guard let low = scores.min(), let high = scores.max(), high > low else {
            return [Double](repeating: 0, count: scores.count)
        }
        return scores.map { ($0 - low) / (high - low) }
    }

    /// Rank of each value, 1 for the highest; ties share their average rank.
    public static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] > values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end + 2) / 2
            for k in start...end { ranks[order[k]] = rank }
            start = end + 1
        }
        return ranks
    }

    /// f(i) = the normalised score of the item at rank i: the normalised scores, highest first.
    public static func rankScoreCharacteristic(_ normalised: [Double]) -> [Double] {
        normalised.sorted(by: >)
    }

    /// sqrt(Σ (f_A(i) − f_B(i))² / n).
    public static func cognitiveDiversity(_ a: [Double], _ b: [Double]) -> Double {
        guard !a.isEmpty, a.count == b.count else { return 0 }
        return (zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(a.count)).squareRoot()
    }

    /// Weighted score Σ wᵢsᵢ / Σ wᵢ, or rank Σ rᵢ/wᵢ / Σ 1/wᵢ; no weights: the plain mean.
    public static func combine(_ values: [Double], weights: [Double]?, ranks: Bool) -> Double {
        guard let weights else { return values.reduce(0, +) / Double(values.count) }
        let w = weights.map { max($0, 1e-9) }
        if ranks {
            return zip(values, w).map { $0 / $1 }.reduce(0, +) / w.map { 1 / $0 }.reduce(0, +)
        }
        return zip(values, w).map { $0 * $1 }.reduce(0, +) / w.reduce(0, +)
    }

    // MARK: - Whole analysis

    /// One split's items in the same order for every model, with their per-class vectors.
    struct SplitView {
        let labels: [String]
        /// [model][class][item]
        let raw: [[[Double]]]
        let normalised: [[[Double]]]
        let ranks: [[[Double]]]
        let characteristics: [[[Double]]]

        init(tables: [ScoreTable], classes: [String], split: Set<String>) throws {
            let byModel = tables.map { table in
                Dictionary(
                    table.rows.filter { split.contains($0.split) }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            }
            // Items every model scored, in id order.
            var ids = Set(byModel.first?.keys.map { $0 } ?? [])
            for rows in byModel.dropFirst() { ids.formIntersection(rows.keys) }
            let ordered = ids.sorted()
            labels = ordered.map { byModel[0][$0]!.label }
            for (index, rows) in byModel.enumerated() {
                for id in ordered where rows[id]!.label != byModel[0][id]!.label {
                    throw SprintError(
                        "item \(id): \(tables[index].model) says its label is \(rows[id]!.label), \(tables[0].model) says \(byModel[0][id]!.label)"
                    )
                }
            }
            raw = tables.enumerated().map { index, table in
                classes.map { name in
                    let column = table.classes.firstIndex(of: name)!
                    return ordered.map { byModel[index][$0]!.scores[column] }
                }
            }
            normalised = raw.map { $0.map(CombinatorialFusion.normalise) }
            ranks = normalised.map { $0.map(CombinatorialFusion.ranks) }
            characteristics = normalised.map { $0.map(CombinatorialFusion.rankScoreCharacteristic) }
        }

        var count: Int { labels.count }
    }

    static let validationNames: Set<String> = ["validation", "val", "valid", "dev"]
    static let testNames: Set<String> = ["test"]

    /// The analysis of `tables` (two models or more, the same classes).
    public static func analyse(_ tables: [ScoreTable]) throws -> Result {
        guard tables.count >= 2 else { throw SprintError("fusion needs two models at least, got \(tables.count)") }
        let classes = tables[0].classes
        for table in tables.dropFirst() where Set(table.classes) != Set(classes) {
            throw SprintError(
                "\(table.model) scores the classes \(table.classes.joined(separator: ",")), \(tables[0].model) scores \(classes.joined(separator: ",")): the same classes are needed"
            )
        }
        let validation = try SplitView(tables: tables, classes: classes, split: validationNames)
        guard validation.count >= 2 else {
            throw SprintError(
                "fewer than two items every model scored in the validation split (rows with split validation): DS, PS and the choice of a fusion are made there"
            )
        }
        let testView = try SplitView(tables: tables, classes: classes, split: testNames)
        let test = testView.count > 0 ? testView : nil
        let binary = classes.count == 2

        func figures(predicted: [Int], values: [[Double]], labels: [String]) -> Figures {
            let accuracy =
                Double(zip(predicted, labels).filter { classes[$0] == $1 }.count) / Double(max(labels.count, 1))
            let auroc: Double?
            if binary {
                auroc = ClassificationMetrics.auroc(zip(values[1], labels).map { ($0, $1 == classes[1]) })
            } else {
                let aucs = classes.indices.compactMap { c in
                    ClassificationMetrics.auroc(zip(values[c], labels).map { ($0, $1 == classes[c]) })
                }
                auroc = aucs.isEmpty ? nil : aucs.reduce(0, +) / Double(aucs.count)
            }
            return Figures(accuracy: accuracy, auroc: auroc)
        }
        /// The class with the highest value per item (ties: the first class).
        func argmax(_ values: [[Double]], count: Int) -> [Int] {
            (0..<count).map { item in
                classes.indices.max {
                    values[$0][item] < values[$1][item] || (values[$0][item] == values[$1][item] && $0 > $1)
                }!
            }
        }
        func single(_ model: Int, _ view: SplitView) -> Figures {
            figures(predicted: argmax(view.raw[model], count: view.count), values: view.raw[model], labels: view.labels)
        }
        func strength(_ f: Figures) -> Double { binary ? (f.auroc ?? 0) : f.accuracy }

        // CD between every two models, on validation, averaged over the classes.
        let m = tables.count
        var diversity = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
        for a in 0..<m {
            for b in 0..<m where b != a {
                diversity[a][b] =
                    classes.indices.map {
                        cognitiveDiversity(validation.characteristics[a][$0], validation.characteristics[b][$0])
                    }.reduce(0, +) / Double(classes.count)
            }
        }
        func ds(_ model: Int, among subset: [Int]) -> Double {
            let others = subset.filter { $0 != model }
            return others.isEmpty ? 0 : others.map { diversity[model][$0] }.reduce(0, +) / Double(others.count)
        }
        let singles = (0..<m).map { single($0, validation) }
        let ps = singles.map(strength)
        let models = (0..<m).map { index in
            ModelResult(
                model: tables[index].model, validation: singles[index], test: test.map { single(index, $0) },
                diversityStrength: ds(index, among: Array(0..<m)), performanceStrength: ps[index])
        }

        func fuse(_ subset: [Int], _ method: Method, _ view: SplitView) -> Figures {
            let weights: [Double]? =
                switch method {
                case .averageScore, .averageRank: nil
                case .diversityScore, .diversityRank: subset.map { ds($0, among: subset) }
                case .performanceScore, .performanceRank: subset.map { ps[$0] }
                }
            // Fused value per class and item; ranks negated so that higher is better throughout.
            let values = classes.indices.map { c in
                (0..<view.count).map { item in
                    let parts = subset.map { method.usesRanks ? view.ranks[$0][c][item] : view.normalised[$0][c][item] }
                    let fused = combine(parts, weights: weights, ranks: method.usesRanks)
                    return method.usesRanks ? -fused : fused
                }
            }
            return figures(predicted: argmax(values, count: view.count), values: values, labels: view.labels)
        }

        var combinations: [CombinationResult] = []
        for mask in 1..<(1 << m) where mask.nonzeroBitCount >= 2 {
            let subset = (0..<m).filter { mask & (1 << $0) != 0 }
            for method in Method.allCases {
                combinations.append(
                    CombinationResult(
                        models: subset.map { tables[$0].model }, method: method,
                        validation: fuse(subset, method, validation),
                        test: test.map { fuse(subset, method, $0) }))
            }
        }
        func better(_ a: Figures, _ b: Figures) -> Bool {
            let (x, y) = (strength(a), strength(b))
            if x != y { return x > y }
            let (p, q) = binary ? (a.accuracy, b.accuracy) : (a.auroc ?? 0, b.auroc ?? 0)
            return p > q
        }
        // Stable choices: the first best in listing order (fewer models, then method order).
        let bestSingle = models.reduce(models[0]) { better($1.validation, $0.validation) ? $1 : $0 }
        let bestFusion = combinations.reduce(combinations[0]) { better($1.validation, $0.validation) ? $1 : $0 }
        let bestOnTest =
            test == nil ? nil : combinations.reduce(combinations[0]) { better($1.test!, $0.test!) ? $1 : $0 }
        let beats =
            if let fusionTest = bestFusion.test, let singleTest = bestSingle.test {
                strength(fusionTest) > strength(singleTest)
            } else {
                strength(bestFusion.validation) > strength(bestSingle.validation)
            }
        return Result(
            classes: classes, validationItems: validation.count, testItems: test?.count ?? 0, models: models,
            combinations: combinations, bestSingle: bestSingle, bestFusion: bestFusion, bestFusionOnTest: bestOnTest,
            fusionBeatsBestSingle: beats)
    }
}
