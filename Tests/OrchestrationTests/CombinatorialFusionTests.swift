import Foundation
import Testing

@testable import Orchestration

/// Every step of CFA against numbers worked by hand (and checked in plain Python, apart from
/// this code) on two models, two classes and four validation items:
///
///     item  label  A(neg, pos)   B(neg, pos)
///     v1    pos    (0.2, 0.8)    (1, 3)
///     v2    neg    (0.6, 0.4)    (2, 2)
///     v3    pos    (0.4, 0.6)    (3, 1)
///     v4    neg    (0.9, 0.1)    (3, 0)
@Suite("Combinatorial fusion: each step against a hand computation")
struct CombinatorialFusionTests {
    static func table(_ model: String, _ scores: [(Double, Double)], test: [(String, String, Double, Double)] = [])
        -> ScoreTable
    {
        let labels = ["pos", "neg", "pos", "neg"]
        let rows =
            scores.enumerated().map {
                ScoreTable.Row(
                    split: "validation", id: "v\($0.offset + 1)", label: labels[$0.offset],
                    scores: [$0.element.0, $0.element.1])
            } + test.map { ScoreTable.Row(split: "test", id: $0.0, label: $0.1, scores: [$0.2, $0.3]) }
        return ScoreTable(model: model, classes: ["neg", "pos"], rows: rows)
    }

    static let a = table("A", [(0.2, 0.8), (0.6, 0.4), (0.4, 0.6), (0.9, 0.1)])
    static let b = table("B", [(1, 3), (2, 2), (3, 1), (3, 0)])

    static func close(_ x: Double?, _ y: Double, _ tolerance: Double = 1e-9) -> Bool {
        guard let x else { return false }
        return abs(x - y) < tolerance
    }

    @Test func normalisationRanksAndTheRankScoreCharacteristic() {
        let normalised = CombinatorialFusion.normalise([0.8, 0.4, 0.6, 0.1])
        #expect(zip(normalised, [1, 3.0 / 7, 5.0 / 7, 0]).allSatisfy { Self.close($0, $1) }, "\(normalised)")
        #expect(CombinatorialFusion.normalise([5, 5, 5]) == [0, 0, 0], "a constant score becomes 0")
        // B's negative class normalised: [0, 0.5, 1, 1]: v3 and v4 tie for ranks 1 and 2.
        #expect(CombinatorialFusion.ranks([0, 0.5, 1, 1]) == [4, 3, 1.5, 1.5])
        #expect(CombinatorialFusion.ranks([1, 3.0 / 7, 5.0 / 7, 0]) == [1, 3, 2, 4])
        #expect(CombinatorialFusion.rankScoreCharacteristic([0, 0.5, 1, 1]) == [1, 1, 0.5, 0])
    }

    @Test func cognitiveDiversityAndTheCombinations() {
        // pos: f_A = [1, 5/7, 3/7, 0], f_B = [1, 2/3, 1/3, 0]; neg: f_A = [1, 4/7, 2/7, 0], f_B = [1, 1, 1/2, 0].
        let pos = CombinatorialFusion.cognitiveDiversity([1, 5.0 / 7, 3.0 / 7, 0], [1, 2.0 / 3, 1.0 / 3, 0])
        let neg = CombinatorialFusion.cognitiveDiversity([1, 4.0 / 7, 2.0 / 7, 0], [1, 1, 0.5, 0])
        #expect(Self.close(pos, 0.053239713749995) && Self.close(neg, 0.23957871187497748))
        // Weighted score (3/7·1 + 2/3·0.75) / 1.75 and weighted rank (3/1 + 2/0.75) / (1/1 + 1/0.75).
        #expect(
            Self.close(
                CombinatorialFusion.combine([3.0 / 7, 2.0 / 3], weights: [1, 0.75], ranks: false), 0.530612244898))
        #expect(Self.close(CombinatorialFusion.combine([3, 2], weights: [1, 0.75], ranks: true), 17.0 / 7))
        #expect(CombinatorialFusion.combine([3, 2], weights: nil, ranks: true) == 2.5)
    }

    @Test func theWholeAnalysisOnValidation() throws {
        let result = try CombinatorialFusion.analyse([Self.a, Self.b])
        #expect(result.validationItems == 4 && result.testItems == 0)
        let (a, b) = (result.models[0], result.models[1])
        // DS of each = CD(A,B) = the mean of the two classes' CD; PS = validation AUROC (binary).
        #expect(
            Self.close(a.diversityStrength, 0.14640921281248623) && Self.close(b.diversityStrength, 0.14640921281248623)
        )
        #expect(a.performanceStrength == 1 && b.performanceStrength == 0.75)
        #expect(a.validation.accuracy == 1 && b.validation.accuracy == 0.75, "B's tie on v2 goes to the first class")
        let figures = Dictionary(uniqueKeysWithValues: result.combinations.map { ($0.method, $0.validation) })
        #expect(result.combinations.count == 6 && result.combinations.allSatisfy { $0.models == ["A", "B"] })
        // score: pos [1, .547619, .523810, 0] → v2, v3 wrong; rank: pos [1, 2.5, 2.5, 4], neg [4, 2.5, 2.25, 1.25].
        #expect(figures[.averageScore]?.accuracy == 0.5 && Self.close(figures[.averageScore]?.auroc, 0.75))
        #expect(figures[.averageRank]?.accuracy == 0.75 && Self.close(figures[.averageRank]?.auroc, 0.875))
        // Equal DS weights change nothing.
        #expect(figures[.diversityScore] == figures[.averageScore] && figures[.diversityRank] == figures[.averageRank])
        // PS weights 1 and 0.75: score pos [1, .530612, .551020, 0]; rank pos [1, 2.428571, 2.571429, 4].
        #expect(figures[.performanceScore]?.accuracy == 0.75 && Self.close(figures[.performanceScore]?.auroc, 1))
        #expect(figures[.performanceRank]?.accuracy == 0.5 && Self.close(figures[.performanceRank]?.auroc, 0.75))
        #expect(result.bestSingle.model == "A")
        #expect(result.bestFusion.method == .performanceScore)
        #expect(!result.fusionBeatsBestSingle, "AUROC 1 does not beat AUROC 1")
    }

    @Test func testFiguresAreForTheChoiceMadeOnValidation() throws {
        let test = [("t1", "pos", 0.3, 0.7), ("t2", "neg", 0.45, 0.55), ("t3", "pos", 0.52, 0.48)]
        let a = Self.table("A", [(0.2, 0.8), (0.6, 0.4), (0.4, 0.6), (0.9, 0.1)], test: test)
        let b = Self.table(
            "B", [(1, 3), (2, 2), (3, 1), (3, 0)],
            test: [("t1", "pos", 0, 5), ("t2", "neg", 4, 1), ("t3", "pos", 1, 2)])
        let result = try CombinatorialFusion.analyse([a, b])
        #expect(result.testItems == 3)
        let chosen = try #require(result.combinations.first { $0.method == result.bestFusion.method })
        #expect(result.bestFusion.test == chosen.test && result.bestFusion.test != nil)
        // A on test: t2 predicted pos (0.55 > 0.45) and t3 neg: 1 of 3.
        #expect(Self.close(result.models[0].test?.accuracy, 1.0 / 3))
    }

    @Test func scoresFilesAreReadStrictly() throws {
        let text = "split,id,label,cat,dog\nvalidation,\"a,1\",cat,0.9,0.1\r\ntest,b,dog,0.2,0.8\n"
        let table = try ScoreTable.parse(text, model: "m", file: "m.csv")
        #expect(table.classes == ["cat", "dog"] && table.rows.map(\.id) == ["a,1", "b"])
        #expect(table.rows[1] == .init(split: "test", id: "b", label: "dog", scores: [0.2, 0.8]))
        let problems = [
            ("id,split,label,a,b\n", "the header must be split,id,label"),
            ("split,id,label,a,b\nvalidation,x,a,0.1,oops\n", "m.csv line 2: the score of b is \"oops\""),
            ("split,id,label,a,b\nvalidation,x,a,0.1\n", "m.csv line 2: 4 fields where the header has 5"),
            ("split,id,label,a,b\nvalidation,x,a,0.1,0.2\nvalidation,x,a,0.3,0.4\n", "an id appears twice"),
        ]
        for (bad, expected) in problems {
            do {
                _ = try ScoreTable.parse(bad, model: "m", file: "m.csv")
                Issue.record("accepted: \(bad)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
        let other = ScoreTable(
            model: "C", classes: ["neg", "bird"],
            rows: [.init(split: "validation", id: "v1", label: "pos", scores: [0, 1])])
        #expect(throws: SprintError.self) { try CombinatorialFusion.analyse([Self.a, other]) }
    }
}
