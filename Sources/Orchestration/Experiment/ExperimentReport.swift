import Foundation

/// `experiment report`: every dataset's result, then across datasets where fusion beats the
/// best single model and each model's mean DS and PS.
public struct ExperimentReport: Sendable, Codable, Equatable {
    public let experiment: String
    public let datasets: [DatasetResult]
    /// Datasets whose fusion chosen on validation beats the single model chosen on validation.
    public let fusionWins: [String]
    public let meanDiversityStrength: [String: Double]
    public let meanPerformanceStrength: [String: Double]
    /// Dataset → model → its rank-score characteristic on validation (averaged over the
    /// classes, at most 50 points from rank 1 to n).
    public let characteristics: [String: [String: [Double]]]

    public static func build(experiment: String, directory: String) throws -> ExperimentReport {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        let results = names.compactMap { name -> DatasetResult? in
            guard let data = FileManager.default.contents(atPath: directory + "/\(name)/result.json") else {
                return nil
            }
            return try? SprintJSON.decoder.decode(DatasetResult.self, from: data)
        }
        guard !results.isEmpty else {
            throw SprintError(
                "no dataset result under \(directory): run pipelinectl experiment run --out \(directory) first")
        }
        var ds: [String: [Double]] = [:]
        var ps: [String: [Double]] = [:]
        for fusion in results.compactMap(\.fusion) {
            for model in fusion.models {
                ds[model.model, default: []].append(model.diversityStrength)
                ps[model.model, default: []].append(model.performanceStrength)
            }
        }
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
        var characteristics: [String: [String: [Double]]] = [:]
        for result in results where result.fusion != nil {
            let tables = (try? ScoreTable.load(directory: directory + "/\(result.dataset)/scores")) ?? []
            for table in tables {
                characteristics[result.dataset, default: [:]][table.model] = Self.characteristic(table)
            }
        }
        return ExperimentReport(
            experiment: experiment, datasets: results,
            fusionWins: results.filter { $0.fusion?.fusionBeatsBestSingle == true }.map(\.dataset),
            meanDiversityStrength: ds.mapValues(mean), meanPerformanceStrength: ps.mapValues(mean),
            characteristics: characteristics)
    }

    /// The model's rank-score characteristic on validation, per class (normalised scores, highest
    /// first) averaged over the classes, sampled at 50 points at most.
    static func characteristic(_ table: ScoreTable) -> [Double] {
        let rows = table.rows.filter { CombinatorialFusion.validationNames.contains($0.split) }
        guard !rows.isEmpty else { return [] }
        let curves = table.classes.indices.map { c in
            CombinatorialFusion.rankScoreCharacteristic(CombinatorialFusion.normalise(rows.map { $0.scores[c] }))
        }
        let n = rows.count
        let mean = (0..<n).map { i in curves.map { $0[i] }.reduce(0, +) / Double(curves.count) }
        let points = min(50, n)
        return (0..<points).map { mean[points == 1 ? 0 : $0 * (n - 1) / (points - 1)] }
    }

    public func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = [
            (directory + "/experiment.json", try SprintJSON.encoder(pretty: true).encode(self)),
            (directory + "/experiment.md", Data(markdown().utf8)),
            (directory + "/experiment.html", Data(html().utf8)),
        ]
        for (path, data) in files { try data.write(to: URL(fileURLWithPath: path), options: .atomic) }
        return files.map(\.0)
    }

    static func pct(_ value: Double?) -> String { value.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }
    static func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }

    public func markdown() -> String {
        let done = datasets.filter { $0.status == .done }
        var lines = [
            "# Experiment \(experiment)", "",
            "\(datasets.count) datasets: \(done.count) done, \(datasets.filter { $0.status == .skipped }.count) skipped, "
                + "\(datasets.filter { $0.status == .failed }.count) failed. Fusion beats the best single model on "
                + "\(fusionWins.count) of \(done.count)"
                + (fusionWins.isEmpty ? "." : " (\(fusionWins.joined(separator: ", ")))."), "",
            "| dataset | status | best single (test acc, AUROC) | best fusion (test acc, AUROC) | fusion wins |",
            "| --- | --- | --- | --- | --- |",
        ]
        for result in datasets {
            guard let fusion = result.fusion else {
                lines.append("| \(result.dataset) | \(result.status.rawValue) | \(result.reason ?? "") | | |")
                continue
            }
            let combination = fusion.bestFusion.models.joined(separator: "+") + " \(fusion.bestFusion.method.rawValue)"
            lines.append(
                "| \(result.dataset) | done | \(fusion.bestSingle.model) (\(Self.pct(fusion.bestSingle.test?.accuracy)), \(Self.number(fusion.bestSingle.test?.auroc))) | "
                    + "\(combination) (\(Self.pct(fusion.bestFusion.test?.accuracy)), \(Self.number(fusion.bestFusion.test?.auroc))) | "
                    + "\(fusion.fusionBeatsBestSingle ? "yes" : "no") |")
        }
        lines += ["", "## Models across datasets", "", "| model | mean DS | mean PS |", "| --- | ---: | ---: |"]
        for model in meanPerformanceStrength.keys.sorted() {
            lines.append(
                "| \(model) | \(Self.number(meanDiversityStrength[model])) | \(Self.number(meanPerformanceStrength[model])) |"
            )
        }
        for result in datasets {
            lines += ["", "## \(result.dataset)", ""]
            if let inspection = result.inspection {
                lines.append(
                    "\(inspection.rows) rows; label \(inspection.labelColumn ?? "none") (\(inspection.labelChoice)); classes "
                        + inspection.classCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(
                            separator: ", ")
                        + "; splits "
                        + inspection.splits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                            separator: ", ")
                        + " (\(inspection.splitSource)); features "
                        + inspection.features.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ") + ".")
                for gap in inspection.gaps { lines.append("- schema gap: \(gap)") }
            }
            for model in result.models where !model.ok && model.reason?.hasPrefix("not applicable") != true {
                lines.append("- \(model.model) failed: \(model.reason ?? "")")
            }
            if let fusion = result.fusion {
                lines += [
                    "", "| model | val acc | test acc | test AUROC | DS | PS |",
                    "| --- | ---: | ---: | ---: | ---: | ---: |",
                ]
                for model in fusion.models {
                    lines.append(
                        "| \(model.model) | \(Self.pct(model.validation.accuracy)) | \(Self.pct(model.test?.accuracy)) | "
                            + "\(Self.number(model.test?.auroc)) | \(Self.number(model.diversityStrength)) | \(Self.number(model.performanceStrength)) |"
                    )
                }
                let best = fusion.combinations.sorted { ($0.test?.accuracy ?? 0) > ($1.test?.accuracy ?? 0) }.prefix(5)
                lines += ["", "Top fusions on test (for reading; the choice is made on validation):", ""]
                lines += best.map {
                    "- \($0.models.joined(separator: "+")) \($0.method.rawValue): \(Self.pct($0.test?.accuracy)), AUROC \(Self.number($0.test?.auroc))"
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The models' rank-score characteristic curves: normalised score (up) by rank (right).
    func characteristicSVG(_ curves: [String: [Double]]) -> String {
        guard !curves.isEmpty else { return "" }
        let colours = ["#2a8", "#58c", "#d62", "#a5c", "#cb3", "#888", "#3bb", "#e7a", "#773", "#147"]
        let (width, height, margin) = (560.0, 240.0, 36.0)
        var svg =
            "<p>Rank-score characteristics on validation (normalised score by rank, averaged over the classes):</p>"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width) + 160)\" height=\"\(Int(height))\">"
            + "<line x1=\"\(margin)\" y1=\"\(height - margin)\" x2=\"\(width - margin)\" y2=\"\(height - margin)\" stroke=\"#333\"/>"
            + "<line x1=\"\(margin)\" y1=\"\(margin / 2)\" x2=\"\(margin)\" y2=\"\(height - margin)\" stroke=\"#333\"/>"
            + "<text x=\"\(width / 2)\" y=\"\(height - 8)\" font-size=\"11\" text-anchor=\"middle\">rank (1 to n)</text>"
        for (index, (model, curve)) in curves.sorted(by: { $0.key < $1.key }).enumerated() where curve.count > 1 {
            let colour = colours[index % colours.count]
            let points = curve.enumerated().map { i, value in
                "\(margin + Double(i) / Double(curve.count - 1) * (width - 2 * margin)),\(height - margin - value * (height - 1.5 * margin))"
            }
            svg +=
                "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
                + "<text x=\"\(width - 20)\" y=\"\(20 + index * 16)\" font-size=\"11\" fill=\"\(colour)\">\(model)</text>"
        }
        return svg + "</svg>"
    }

    /// Per dataset a bar per model and for the chosen fusion (test accuracy), as inline SVG.
    public func html() -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var body =
            "<h1>Experiment \(escape(experiment))</h1><p>Fusion beats the best single model on \(fusionWins.count) of \(datasets.filter { $0.status == .done }.count) datasets.</p>"
        for result in datasets {
            body += "<h2>\(escape(result.dataset))</h2>"
            guard let fusion = result.fusion else {
                body += "<p>\(result.status.rawValue): \(escape(result.reason ?? ""))</p>"
                continue
            }
            let bars =
                fusion.models.map { ($0.model, $0.test?.accuracy ?? $0.validation.accuracy, false) }
                + [
                    (
                        "fusion: " + fusion.bestFusion.models.joined(separator: "+") + " "
                            + fusion.bestFusion.method.rawValue,
                        fusion.bestFusion.test?.accuracy ?? fusion.bestFusion.validation.accuracy, true
                    )
                ]
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"\(bars.count * 26 + 8)\">"
            for (index, bar) in bars.enumerated() {
                let y = 4 + index * 26
                svg +=
                    "<text x=\"0\" y=\"\(y + 15)\" font-size=\"12\">\(escape(String(bar.0.prefix(34))))</text>"
                    + "<rect x=\"260\" y=\"\(y)\" width=\"300\" height=\"20\" fill=\"#eee\"/>"
                    + "<rect x=\"260\" y=\"\(y)\" width=\"\(Int(300 * bar.1))\" height=\"20\" fill=\"\(bar.2 ? "#2a8" : "#58c")\"/>"
                    + "<text x=\"566\" y=\"\(y + 15)\" font-size=\"12\">\(Self.pct(bar.1))</text>"
            }
            body += svg + "</svg>"
            body += characteristicSVG(characteristics[result.dataset] ?? [:])
        }
        return """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>Experiment \(escape(experiment))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}svg{background:#fafafa;border:1px solid #ddd}</style>
            </head><body>\(body)</body></html>
            """
    }
}
