import Foundation
import Testing

@testable import Orchestration

@Suite("Dataset inspection: splits, label, features and gaps found before anything runs")
struct DatasetInspectionTests {
    /// A CSV of `rows` rows: two numeric features that separate two classes, and `extra` columns.
    static func write(
        _ dir: String, _ name: String, rows: Int, header: String = "x,y,label", classes: [String] = ["a", "b"],
        row: ((Int, String) -> String)? = nil
    ) throws -> String {
        let path = dir + "/\(name)"
        var lines = [header]
        for index in 0..<rows {
            let label = classes[index % classes.count]
            let x = Double(index % 7) + (label == classes[0] ? 0 : 10)
            lines.append(row?(index, label) ?? "\(x),\(Double(index % 5)),\(label)")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "/inspection-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func noSplitGetsADeterministicStratifiedSixtyTwentyTwenty() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.write(dir, "plain.csv", rows: 100)
        let (inspection, prepared) = try DatasetInspection.inspect(TabularSource(name: "plain", path: path))
        #expect(inspection.usable && inspection.labelColumn == "label" && inspection.labelChoice == "named label")
        #expect(inspection.splits == ["train": 60, "validation": 20, "test": 20], "\(inspection.splits)")
        #expect(inspection.splitSource.contains("made: stratified 60/20/20 by label, seed 42"))
        #expect(inspection.classCounts == ["a": 50, "b": 50])
        #expect(inspection.features.map(\.kind) == [.numeric, .numeric])
        let data = try #require(prepared)
        // Stratified: each class 30/10/10.
        #expect(data.validation.filter { $0.label == 0 }.count == 10 && data.test.filter { $0.label == 1 }.count == 10)
        // Deterministic for a seed, another seed another split.
        let again = try #require(try DatasetInspection.inspect(TabularSource(name: "plain", path: path)).1)
        #expect(again.test.map(\.id) == data.test.map(\.id))
        let other = try #require(try DatasetInspection.inspect(TabularSource(name: "plain", path: path), seed: 9).1)
        #expect(other.test.map(\.id) != data.test.map(\.id))
        // Standardised on the training split.
        let mean = data.train.map { $0.features[0] }.reduce(0, +) / Double(data.train.count)
        #expect(abs(mean) < 1e-9)
    }

    @Test func aLabelNamedTargetASplitColumnAndSiblingFiles() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = try Self.write(dir, "target.csv", rows: 60, header: "x,y,Target")
        let (byName, _) = try DatasetInspection.inspect(TabularSource(name: "t", path: target))
        #expect(byName.labelColumn == "Target" && byName.usable)
        let withSplit = try Self.write(dir, "split.csv", rows: 60, header: "x,y,label,split") { index, label in
            let x = Double(index % 7) + (label == "a" ? 0 : 10)
            return "\(x),1,\(label),\(["train", "train", "train", "val", "test"][index % 5])"
        }
        let (split, _) = try DatasetInspection.inspect(TabularSource(name: "s", path: withSplit))
        #expect(split.splitSource == "the column split" && split.splits == ["train": 36, "validation": 12, "test": 12])
        #expect(!split.features.contains { $0.name == "split" })
        let siblings = dir + "/siblings"
        try FileManager.default.createDirectory(atPath: siblings, withIntermediateDirectories: true)
        for (file, rows) in [("train.csv", 40), ("valid.csv", 10), ("test.csv", 10)] {
            _ = try Self.write(siblings, file, rows: rows)
        }
        let (files, prepared) = try DatasetInspection.inspect(TabularSource(name: "f", path: siblings))
        #expect(files.splits == ["train": 40, "validation": 10, "test": 10], "\(files.splits)")
        #expect(files.splitSource.hasPrefix("sibling files") && prepared?.train.count == 40)
        // A low-cardinality column is the label when nothing is named so, and the choice says why.
        let unnamed = try Self.write(dir, "unnamed.csv", rows: 60, header: "x,z,kind")
        let (found, _) = try DatasetInspection.inspect(TabularSource(name: "u", path: unnamed))
        #expect(found.labelColumn == "kind" && found.labelChoice.hasPrefix("the only column with few distinct values"))
    }

    @Test func oddDatasetsAreSkippedWithTheirGapNeverACrash() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try Self.write(dir, "text.csv", rows: 80, header: "x,comment,label") { index, label in
            "\(index % 9),\"a remark number \(index), unlike the others\",\(label)"
        }
        let one = try Self.write(dir, "one.csv", rows: 40, classes: ["only"])
        let tiny = try Self.write(dir, "tiny.csv", rows: 8)
        let cases: [(String, String)] = [
            (text, "comment is free text (80 distinct values in 80 rows)"),
            (one, "the label label has 1 class (only): a classifier needs two"),
            (tiny, "8 rows, fewer than the minimum of 20"),
        ]
        for (path, gap) in cases {
            let (inspection, prepared) = try DatasetInspection.inspect(TabularSource(name: "odd", path: path))
            #expect(!inspection.usable && prepared == nil)
            #expect(inspection.gaps.contains { $0.hasPrefix(gap) }, "\(inspection.gaps)")
        }
        let missing = try Self.write(dir, "named.csv", rows: 40)
        let (configured, _) = try DatasetInspection.inspect(TabularSource(name: "n", path: missing, label: "species"))
        #expect(configured.gaps.first?.contains("the configured label column species is not among x, y, label") == true)
    }
}

@Suite("Experiment lists: dataset and model names checked")
struct ExperimentPlanTests {
    @Test func datasetNamesAreSafeAndDistinct() throws {
        let dir = try DatasetInspectionTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (text, problem) in [
            (
                "datasets:\n  - {name: iris, path: a.csv}\n  - {name: iris, path: b.csv}\n",
                "two datasets are named iris"
            ),
            ("datasets:\n  - {name: ../up, path: a.csv}\n", "the dataset name \"../up\" must be"),
            ("datasets:\n  - {name: x}\n", "needs a path, or a pipeline dataset"),
        ] {
            try text.write(toFile: dir + "/list.yaml", atomically: true, encoding: .utf8)
            do {
                _ = try ExperimentPlan.datasets(path: dir + "/list.yaml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(problem), "\(error)")
            }
        }
        try "name,path,label\niris,iris.csv,\nstored,store:t/x.csv,kind\n".write(
            toFile: dir + "/list.csv", atomically: true, encoding: .utf8)
        let sources = try ExperimentPlan.datasets(path: dir + "/list.csv")
        #expect(sources[0].path.hasSuffix((dir as NSString).lastPathComponent + "/iris.csv"))
        #expect(sources[1].path == "store:t/x.csv" && sources[1].label == "kind" && sources[0].label == nil)
    }
}
