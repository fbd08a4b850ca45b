import Foundation
import PipelineCommon

/// A tabular dataset of an experiment: one file (CSV or JSON lines), or a folder of sibling
/// files named after their split (`train`, `validation`/`val`/`valid`, `test`).
public struct TabularSource: Sendable, Codable, Equatable {
    public let name: String
    /// The file or folder; empty for a dataset version of the pipeline.
    public let path: String
    /// The label column; nil: found by name (`label`, `target`, `class`, `y`, any case), else the
    /// only low-cardinality column.
    public let label: String?
    /// A dataset version of the pipeline (images labelled by their annotations), by id or as
    /// the newest published version of `pipelineDataset` made by `stage` (normalize).
    public var version: String?
    public var pipelineDataset: String?
    public var stage: String?

    public init(name: String, path: String, label: String? = nil) {
        self.name = name
        self.path = path
        self.label = label
    }

    public var isPipelineDataset: Bool { version != nil || pipelineDataset != nil }
}

/// What the inspection found before anything ran, recorded and shown in the summary.
public struct DatasetInspection: Sendable, Codable, Equatable {
    public enum FeatureKind: String, Sendable, Codable { case numeric, categorical, identifier, text }

    public struct Feature: Sendable, Codable, Equatable {
        public let name: String
        public let kind: FeatureKind
        public let distinct: Int
    }

    public let dataset: String
    public let rows: Int
    public let columns: [String]
    public var labelColumn: String?
    public var labelChoice: String
    public var features: [Feature]
    public var classCounts: [String: Int]
    /// Rows per split once split.
    public var splits: [String: Int]
    /// How the splits came: a split column, sibling files, or made here (method and seed).
    public var splitSource: String
    /// What cannot be used; any gap skips the dataset with these reasons.
    public var gaps: [String]

    public var usable: Bool { gaps.isEmpty }
}

/// A dataset ready for the models: numeric features (standardised on the training split,
/// categories one-hot), a label per row, three splits.
public struct PreparedDataset: Sendable {
    public struct Item: Sendable {
        public let id: String
        public let features: [Double]
        public let label: Int
    }

    public let classes: [String]
    public let featureNames: [String]
    public let train: [Item]
    public let validation: [Item]
    public let test: [Item]
}

extension DatasetInspection {
    static let labelNames = ["label", "target", "class", "y"]
    static let splitNames: [String: String] = [
        "train": "train", "training": "train", "validation": "validation", "val": "validation",
        "valid": "validation", "dev": "validation", "test": "test", "testing": "test",
    ]

    /// Inspects `source`; the prepared dataset when it is usable. Never throws for what the data
    /// holds (that is a gap); only for a file that cannot be read.
    public static func inspect(
        _ source: TabularSource, minimumRows: Int = 20, seed: UInt64 = 42, fractions: (Double, Double) = (0.6, 0.2)
    ) throws -> (DatasetInspection, PreparedDataset?) {
        // Rows with the split each came with (nil: none).
        var table: TabularData
        var given: [String?]
        var splitSource: String
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw SprintError("dataset \(source.name): no file or folder at \(source.path)")
        }
        if isDirectory.boolValue {
            let files = try FileManager.default.contentsOfDirectory(atPath: source.path).filter { file in
                [".csv", ".jsonl", ".ndjson"].contains { file.lowercased().hasSuffix($0) }
            }.sorted()
            let named = files.compactMap { file -> (String, String)? in
                let stem = (file as NSString).deletingPathExtension.lowercased()
                return splitNames[stem].map { ($0, file) }
            }
            guard !named.isEmpty || files.count == 1 else {
                throw SprintError(
                    "dataset \(source.name): \(source.path) holds \(files.count) data files and none named train, validation or test"
                )
            }
            table = TabularData(columns: [], rows: [])
            given = []
            let parts: [(split: String?, file: String)] = named.isEmpty ? [(nil, files[0])] : named.map { ($0.0, $0.1) }
            for (split, file) in parts {
                let part = try TabularData.read(path: source.path + "/" + file)
                if table.columns.isEmpty { table.columns = part.columns }
                guard Set(part.columns) == Set(table.columns) else {
                    throw SprintError("dataset \(source.name): \(file) has other columns than the other files")
                }
                let order = table.columns.map { part.columns.firstIndex(of: $0)! }
                table.rows += part.rows.map { row in order.map { row[$0] } }
                given += [String?](repeating: split, count: part.rows.count)
            }
            splitSource = named.isEmpty ? "none" : "sibling files (\(named.map { $0.1 }.joined(separator: ", ")))"
        } else {
            table = try TabularData.read(path: source.path)
            given = [String?](repeating: nil, count: table.rows.count)
            splitSource = "none"
        }
        var gaps: [String] = []
        // A split column.
        var excluded: Set<String> = []
        if let column = table.columns.first(where: { $0.lowercased() == "split" }) {
            excluded.insert(column)
            let values = table.column(column)!
            var unknown = Set<String>()
            for (index, value) in values.enumerated() {
                if let split = splitNames[value.lowercased()] { given[index] = split } else { unknown.insert(value) }
            }
            splitSource = "the column \(column)"
            if !unknown.isEmpty {
                gaps.append(
                    "the split column \(column) holds \(unknown.sorted().prefix(5).joined(separator: ", ")), not train, validation or test"
                )
            }
        }
        // The label.
        var labelColumn: String?
        var labelChoice: String
        if let named = source.label {
            labelColumn = table.columns.first { $0 == named }
            labelChoice = "configured"
            if labelColumn == nil {
                gaps.append(
                    "the configured label column \(named) is not among \(table.columns.joined(separator: ", "))")
            }
        } else if let found = labelNames.lazy.compactMap({ name in table.columns.first { $0.lowercased() == name } })
            .first
        {
            labelColumn = found
            labelChoice = "named \(found)"
        } else {
            let lowCardinality = table.columns.filter { column in
                guard !excluded.contains(column) else { return false }
                let distinct = Set(table.column(column)!).count
                return distinct >= 2 && distinct <= 20 && distinct < table.rows.count
            }
            // Words before numbers: a column of class names is a label, a small integer may be a feature.
            let words = lowCardinality.filter { column in table.column(column)!.contains { Double($0) == nil } }
            let candidates = words.isEmpty ? lowCardinality : words
            if candidates.count == 1 {
                labelColumn = candidates[0]
                labelChoice =
                    "the only column with few distinct values (\(Set(table.column(candidates[0])!).count)): \(candidates[0])"
            } else {
                labelChoice = "none found"
                gaps.append(
                    candidates.isEmpty
                        ? "no label column: none is named label, target, class or y, and none has few distinct values; name one (label: <column>)"
                        : "no label column: none is named label, target, class or y, and several have few distinct values (\(candidates.joined(separator: ", "))); name one (label: <column>)"
                )
            }
        }
        if let labelColumn { excluded.insert(labelColumn) }
        // The features.
        var features: [Feature] = []
        for (index, column) in table.columns.enumerated() where !excluded.contains(column) {
            let values = table.rows.map { $0[index] }
            let present = values.filter { !$0.isEmpty }
            let distinct = Set(present).count
            let kind: FeatureKind
            if !present.isEmpty, present.allSatisfy({ Double($0)?.isFinite == true }) {
                let lower = column.lowercased()
                kind = (lower == "id" || lower.hasSuffix("_id")) && distinct == values.count ? .identifier : .numeric
            } else if distinct <= max(20, table.rows.count / 20) {
                kind = .categorical
            } else if distinct == values.count && (column.lowercased() == "id" || column.lowercased().hasSuffix("_id"))
            {
                kind = .identifier
            } else {
                kind = .text
                gaps.append(
                    "\(column) is free text (\(distinct) distinct values in \(values.count) rows): drop it or encode it as categories or numbers"
                )
            }
            features.append(Feature(name: column, kind: kind, distinct: distinct))
        }
        if !features.contains(where: { $0.kind == .numeric || $0.kind == .categorical }) {
            gaps.append("no feature column a model can use")
        }
        let labels = labelColumn.flatMap { table.column($0) } ?? []
        let classCounts = Dictionary(labels.map { ($0, 1) }, uniquingKeysWith: +)
        if labelColumn != nil, classCounts.count < 2 {
            gaps.append(
                "the label \(labelColumn!) has \(classCounts.count) class (\(classCounts.keys.sorted().joined(separator: ", "))): a classifier needs two"
            )
        }
        if labels.contains("") { gaps.append("\(labels.filter(\.isEmpty).count) rows have no label") }
        if table.rows.count < minimumRows {
            gaps.append("\(table.rows.count) rows, fewer than the minimum of \(minimumRows)")
        }
        // Ids: an identifier column, else the row's position.
        let identifier = features.first { $0.kind == .identifier }.flatMap { table.column($0.name) }
        let ids = identifier ?? table.rows.indices.map { "row-\($0 + 1)" }
        // The splits: as given when validation and test are both there, else made.
        var split = given
        let present = Set(given.compactMap { $0 })
        if gaps.isEmpty, !(present.contains("validation") && present.contains("test")) {
            let pool = present.contains("test") ? given.indices.filter { given[$0] != "test" } : Array(given.indices)
            let (trainShare, validationShare) =
                present.contains("test")
                ? (fractions.0 / (fractions.0 + fractions.1), 1.0) : (fractions.0, fractions.0 + fractions.1)
            for (_, members) in Dictionary(grouping: pool, by: { labels[$0] }) {
                let ordered = members.sorted {
                    Hex.encode(SHA256.hash(Data("\(seed):\(ids[$0])".utf8)))
                        < Hex.encode(SHA256.hash(Data("\(seed):\(ids[$1])".utf8)))
                }
                let trainCount = Int((Double(ordered.count) * trainShare).rounded())
                let validationCount = Int((Double(ordered.count) * validationShare).rounded()) - trainCount
                for (position, row) in ordered.enumerated() {
                    split[row] =
                        position < trainCount
                        ? "train" : position < trainCount + max(validationCount, 0) ? "validation" : "test"
                }
            }
            splitSource =
                present.contains("test")
                ? "\(splitSource), test kept; train and validation made: stratified \(Int(trainShare * 100))/\(100 - Int(trainShare * 100)) by label, seed \(seed)"
                : "made: stratified \(Int(fractions.0 * 100))/\(Int(fractions.1 * 100))/\(100 - Int((fractions.0 + fractions.1) * 100)) by label, seed \(seed)"
        }
        let splitCounts = Dictionary(split.compactMap { $0 }.map { ($0, 1) }, uniquingKeysWith: +)
        if gaps.isEmpty,
            (splitCounts["train"] ?? 0) == 0 || (splitCounts["validation"] ?? 0) == 0 || (splitCounts["test"] ?? 0) == 0
        {
            gaps.append("a split is empty after splitting (\(splitCounts)): more rows are needed")
        }
        var inspection = DatasetInspection(
            dataset: source.name, rows: table.rows.count, columns: table.columns, labelColumn: labelColumn,
            labelChoice: labelChoice, features: features, classCounts: classCounts, splits: splitCounts,
            splitSource: splitSource, gaps: gaps)
        guard inspection.usable, labelColumn != nil else { return (inspection, nil) }
        let prepared = prepare(table, labels: labels, ids: ids, split: split, features: features)
        if prepared.featureNames.isEmpty {
            inspection.gaps.append("no feature column a model can use")
            return (inspection, nil)
        }
        return (inspection, prepared)
    }

    /// Numbers for the models: numeric columns standardised with the training split's mean and
    /// deviation (a missing value is the mean), categorical ones one-hot over the training
    /// split's categories.
    static func prepare(_ table: TabularData, labels: [String], ids: [String], split: [String?], features: [Feature])
        -> PreparedDataset
    {
        let classes = Set(labels).sorted()
        let trainRows = split.indices.filter { split[$0] == "train" }
        var encoders: [(names: [String], column: Int, encode: (String) -> [Double])] = []
        for feature in features where feature.kind == .numeric || feature.kind == .categorical {
            let index = table.columns.firstIndex(of: feature.name)!
            let trainValues = trainRows.map { table.rows[$0][index] }
            if feature.kind == .numeric {
                let numbers = trainValues.compactMap { Double($0) }
                let mean = numbers.isEmpty ? 0 : numbers.reduce(0, +) / Double(numbers.count)
                let variance =
                    numbers.isEmpty ? 0 : numbers.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(numbers.count)
                let deviation = variance > 0 ? variance.squareRoot() : 1
                encoders.append(([feature.name], index, { [((Double($0) ?? mean) - mean) / deviation] }))
            } else {
                let categories = Set(trainValues).sorted()
                encoders.append(
                    (
                        categories.map { "\(feature.name)=\($0)" }, index,
                        { value in categories.map { $0 == value ? 1 : 0 } }
                    ))
            }
        }
        func items(_ name: String) -> [PreparedDataset.Item] {
            split.indices.filter { split[$0] == name }.map { row in
                PreparedDataset.Item(
                    id: ids[row],
                    features: encoders.flatMap { $0.encode(table.rows[row][$0.column]) },
                    label: classes.firstIndex(of: labels[row])!)
            }
        }
        return PreparedDataset(
            classes: classes, featureNames: encoders.flatMap(\.names), train: items("train"),
            validation: items("validation"), test: items("test"))
    }
}
