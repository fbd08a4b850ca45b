import Foundation
import PipelineCommon

extension SprintReport {
    /// Writes `report.json`, `report.md` and a self-contained `report.html`; their paths.
    public func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = SprintJSON.encoder(pretty: true)
        let files = [
            (directory + "/report.json", try encoder.encode(self)),
            (directory + "/report.md", Data(markdown().utf8)),
            (directory + "/report.html", Data(html().utf8)),
        ]
        for (path, data) in files { try data.write(to: URL(fileURLWithPath: path), options: .atomic) }
        return files.map(\.0)
    }

    /// A run of the `sprints` experiment with the counts as metrics and the three files as
    /// artifacts; its run id.
    public func log(to mlflow: MLflowClient, files: [String]) async throws -> String {
        let experiment = try await mlflow.experiment(named: "sprints")
        let run = try await mlflow.createRun(
            experimentId: experiment.experimentId, name: "sprint-\(sprint)",
            tags: ["sprint": sprint, "mlflow.source.name": "pipelinectl sprint report"])
        try await mlflow.logBatch(
            runId: run.info.runId,
            metrics: [
                .init(key: "tasks", value: Double(tasks.count)), .init(key: "tasks_ok", value: Double(ok)),
                .init(key: "tasks_failed", value: Double(failed)),
                .init(key: "tasks_never_run", value: Double(neverRun.count)),
                .init(key: "qa_flags", value: Double(flags.count)),
            ],
            params: ["sprint": sprint, "leaderboards": "\(leaderboards.count)"])
        for file in files {
            try await mlflow.logArtifact(
                run: run, path: file, artifactPath: "report/" + (file as NSString).lastPathComponent)
        }
        try await mlflow.setTerminated(runId: run.info.runId, status: .finished)
        return run.info.runId
    }

    static func number(_ value: Double?, _ format: String = "%.3f") -> String {
        value.map { String(format: format, $0) } ?? "–"
    }

    public func markdown() -> String {
        var lines = [
            "# Sprint \(sprint) report", "",
            "\(tasks.count) tasks: \(ok) ok, \(failed) failed; \(neverRun.count) planned and never run; \(flags.count) QA flags. Generated \(generatedAt).",
            "",
        ]
        lines += ["## Progress by queue", "", "| queue | planned | ok | failed |", "| --- | ---: | ---: | ---: |"]
        lines += queues.map { "| \($0.queue) | \($0.planned) | \($0.ok) | \($0.failed) |" }
        for board in leaderboards {
            lines += [
                "", "## Leaderboard: \(board.kind.rawValue) on `\(board.dataset)`", "",
                "| # | model | accuracy | macro F1 | macro AUROC | p50 ms | p99 ms | images/s | front |",
                "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            ]
            for (index, row) in board.rows.enumerated() {
                let m = row.metrics
                lines.append(
                    "| \(index + 1) | \(row.model) | \(Self.number(m["accuracy"])) | \(Self.number(m["macro_f1"])) | "
                        + "\(Self.number(m["macro_auroc"])) | \(Self.number(m["latency_p50_ms"], "%.2f")) | "
                        + "\(Self.number(m["latency_p99_ms"], "%.2f")) | \(Self.number(m["images_per_second"], "%.1f")) | "
                        + "\(board.paretoFront.contains(row.task) ? "yes" : "") |")
            }
            let name = { (task: String?) in task.flatMap { id in board.rows.first { $0.task == id }?.model } ?? "–" }
            lines += [
                "", "Top candidate: \(name(board.topCandidate)); fallback: \(name(board.fallback)).",
                "Good quality, poor latency: \(board.goodButSlow.map { name($0) }.joined(separator: ", ").nonEmpty ?? "none"); "
                    + "fast but weak: \(board.fastButWeak.map { name($0) }.joined(separator: ", ").nonEmpty ?? "none").",
            ]
        }
        lines += ["", "## Failures", ""]
        if failures.isEmpty {
            lines.append("No task failed.")
        } else {
            lines += ["| class | count | tasks | reasons |", "| --- | ---: | --- | --- |"]
            for group in failures {
                lines.append(
                    "| \(group.failureClass.rawValue) | \(group.tasks.count) | \(group.tasks.map { "`\($0)`" }.joined(separator: ", ")) | "
                        + group.reasons.map { $0.replacingOccurrences(of: "|", with: "\\|").prefix(160) }.joined(
                            separator: "; ") + " |")
            }
        }
        lines += ["", "## QA", ""]
        if flags.isEmpty {
            lines.append("Nothing to flag.")
        } else {
            lines += flags.map { "- `\($0.task)`: \($0.problem)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The report with its plots drawn as inline SVG: one file, nothing fetched.
    public func html() -> String {
        var body = "<h1>Sprint \(Self.escape(sprint))</h1>"
        body +=
            "<p>\(tasks.count) tasks: \(ok) ok, \(failed) failed, \(neverRun.count) never run, \(flags.count) QA flags.</p>"
        body += "<h2>Progress by queue</h2>" + progressSVG()
        for board in leaderboards {
            body += "<h2>\(board.kind.rawValue) on \(Self.escape(board.dataset))</h2>"
            body += scatterSVG(board)
            body +=
                "<table><tr><th>#</th><th>model</th><th>accuracy</th><th>macro F1</th><th>AUROC</th><th>p50 ms</th><th>p99 ms</th><th>images/s</th></tr>"
            for (index, row) in board.rows.enumerated() {
                let m = row.metrics
                let front = board.paretoFront.contains(row.task) ? " class=\"front\"" : ""
                body +=
                    "<tr\(front)><td>\(index + 1)</td><td>\(Self.escape(row.model))</td><td>\(Self.number(m["accuracy"]))</td>"
                    + "<td>\(Self.number(m["macro_f1"]))</td><td>\(Self.number(m["macro_auroc"]))</td>"
                    + "<td>\(Self.number(m["latency_p50_ms"], "%.2f"))</td><td>\(Self.number(m["latency_p99_ms"], "%.2f"))</td>"
                    + "<td>\(Self.number(m["images_per_second"], "%.1f"))</td></tr>"
            }
            body += "</table>"
        }
        body += "<h2>Failures</h2>"
        body +=
            failures.isEmpty
            ? "<p>No task failed.</p>"
            : "<ul>"
                + failures.map {
                    "<li><b>\($0.failureClass.rawValue)</b>: \($0.tasks.count) (\(Self.escape($0.tasks.joined(separator: ", "))))</li>"
                }.joined() + "</ul>"
        body += "<h2>QA</h2>"
        body +=
            flags.isEmpty
            ? "<p>Nothing to flag.</p>"
            : "<ul>"
                + flags.map { "<li><code>\(Self.escape($0.task))</code>: \(Self.escape($0.problem))</li>" }.joined()
                + "</ul>"
        return """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>Sprint \(Self.escape(sprint))</title><style>
            body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 24px}
            td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(2){text-align:left}
            tr.front{background:#e6f4ea}svg{background:#fafafa;border:1px solid #ddd}
            </style></head><body>\(body)</body></html>
            """
    }

    /// Accuracy (up) against p50 latency (right); the Pareto front joined by a line.
    func scatterSVG(_ board: Leaderboard) -> String {
        let width = 560.0
        let height = 320.0
        let margin = 48.0
        let latencies = board.rows.map { $0.metrics["latency_p50_ms"] ?? 0 }
        // The latencies' own range, padded, so close figures do not pile up at one edge.
        let low = latencies.min() ?? 0
        let high = latencies.max() ?? 1
        let pad = max((high - low) * 0.15, high * 0.05, 1e-3)
        let minLatency = max(0, low - pad)
        let maxLatency = high + pad
        func x(_ latency: Double) -> Double {
            margin + (latency - minLatency) / (maxLatency - minLatency) * (width - 2 * margin)
        }
        func y(_ accuracy: Double) -> Double { height - margin - accuracy * (height - 2 * margin) }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">"
            + "<line x1=\"\(margin)\" y1=\"\(height - margin)\" x2=\"\(width - margin)\" y2=\"\(height - margin)\" stroke=\"#333\"/>"
            + "<line x1=\"\(margin)\" y1=\"\(margin)\" x2=\"\(margin)\" y2=\"\(height - margin)\" stroke=\"#333\"/>"
            + "<text x=\"\(width / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\" font-size=\"12\">p50 latency (ms), \(String(format: "%.2f", minLatency)) to \(String(format: "%.2f", maxLatency))</text>"
            + "<text x=\"14\" y=\"\(height / 2)\" font-size=\"12\" transform=\"rotate(-90 14 \(height / 2))\" text-anchor=\"middle\">accuracy (0 to 1)</text>"
        let front = board.rows.filter { board.paretoFront.contains($0.task) }.sorted {
            ($0.metrics["latency_p50_ms"] ?? 0) < ($1.metrics["latency_p50_ms"] ?? 0)
        }
        if front.count > 1 {
            let points = front.map { "\(x($0.metrics["latency_p50_ms"] ?? 0)),\(y($0.metrics["accuracy"] ?? 0))" }
            svg +=
                "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#2a8\" stroke-width=\"2\"/>"
        }
        for row in board.rows {
            let onFront = board.paretoFront.contains(row.task)
            let cx = x(row.metrics["latency_p50_ms"] ?? 0)
            let cy = y(row.metrics["accuracy"] ?? 0)
            svg +=
                "<circle cx=\"\(cx)\" cy=\"\(cy)\" r=\"6\" fill=\"\(onFront ? "#2a8" : "#888")\"><title>\(Self.escape(row.model))</title></circle>"
                + "<text x=\"\(cx > width / 2 ? cx - 8 : cx + 8)\" y=\"\(cy - 8)\" font-size=\"11\" text-anchor=\"\(cx > width / 2 ? "end" : "start")\">\(Self.escape(row.model))</text>"
        }
        return svg + "</svg>"
    }

    /// One bar a queue: ok, failed and not yet run, as shares of its planned tasks.
    func progressSVG() -> String {
        let width = 560.0
        let rowHeight = 28.0
        let label = 160.0
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(rowHeight * Double(max(queues.count, 1)) + 8))\">"
        for (index, queue) in queues.enumerated() {
            let top = 4 + Double(index) * rowHeight
            let total = Double(max(queue.planned, queue.ok + queue.failed, 1))
            let span = width - label - 8
            let okWidth = span * Double(queue.ok) / total
            let failedWidth = span * Double(queue.failed) / total
            svg +=
                "<text x=\"0\" y=\"\(top + 16)\" font-size=\"12\">\(Self.escape(queue.queue)) (\(queue.ok + queue.failed)/\(queue.planned))</text>"
                + "<rect x=\"\(label)\" y=\"\(top)\" width=\"\(span)\" height=\"20\" fill=\"#eee\"/>"
                + "<rect x=\"\(label)\" y=\"\(top)\" width=\"\(okWidth)\" height=\"20\" fill=\"#2a8\"/>"
                + "<rect x=\"\(label + okWidth)\" y=\"\(top)\" width=\"\(failedWidth)\" height=\"20\" fill=\"#d44\"/>"
        }
        return svg + "</svg>"
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
