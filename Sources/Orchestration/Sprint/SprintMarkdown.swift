import Foundation

/// The plan as tables a person can read and tick off.
enum SprintMarkdown {
    static func plan(_ plan: SprintPlan) -> String {
        var lines = ["# Sprint \(plan.sprint)", ""]
        if let window = plan.window {
            lines.append("Window: \(window.hours) h" + (window.start.map { " from \($0)" } ?? "") + ".")
        }
        lines.append("Planned \(plan.plannedAt).")
        lines += ["", "## Datasets", "", "| version | dataset | stage |", "| --- | --- | --- |"]
        lines += plan.datasets.map { "| `\($0.id)` | \($0.name) | \($0.stage) |" }
        lines += [
            "", "## Queues", "", "| queue | kinds | models | tasks | over the cap |",
            "| --- | --- | --- | ---: | ---: |",
        ]
        for queue in plan.queues {
            lines.append(
                "| [\(queue.name)](queues/\(queue.name).md) | \(queue.kinds.map(\.rawValue).joined(separator: ", ")) | "
                    + "\(queue.models.isEmpty ? "–" : queue.models.joined(separator: ", ")) | \(queue.tasks.count) | \(queue.overCap.count) |"
            )
        }
        lines += ["", "## Unassigned models", ""]
        if plan.unassigned.isEmpty {
            lines.append("Every model went to a queue.")
        } else {
            lines += ["| model | why each queue refused it |", "| --- | --- |"]
            for model in plan.unassigned {
                let reasons = model.reasons.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                lines.append("| \(model.model) | \(reasons.joined(separator: "; ")) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func queue(_ queue: SprintPlan.Queue, sprint: String) -> String {
        var lines = [
            "# Sprint \(sprint), queue \(queue.name)", "",
            "Run with `pipelinectl sprint work --queue queues/\(queue.name).json --execution-root execution`.", "",
            "| done | task | kind | model | dataset |", "| --- | --- | --- | --- | --- |",
        ]
        for task in queue.tasks {
            lines.append(
                "| [ ] | `\(task.id)` | \(task.kind.rawValue) | \(task.model.name)@\(task.model.version) | `\(task.dataset.id)` |"
            )
        }
        if !queue.overCap.isEmpty {
            lines += ["", "Left out by max_tasks: " + queue.overCap.map { "`\($0)`" }.joined(separator: ", ") + "."]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
