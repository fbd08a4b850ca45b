import Foundation
import PipelineCommon
import StageCommand
import Testing

@testable import Orchestration

@Suite("Sprint plan: the YAML checked, each model in the first queue that takes it, stable task ids")
struct SprintPlanTests {
    static let yaml = """
        sprint: {id: s1, window: {start: "2026-12-07T08:00:00Z", hours: 4}}
        catalog:
          versions: all
          trainers:
            - {name: wide-cnn, model: cnn, convolutions: "16,32", epochs: 3}
            - {name: stray, model: softmax}
        datasets: [normalize-aaa, {name: demo, stage: normalize}]
        evaluation: {validation_fraction: 0.25, seed: 7, smoke_images: 8}
        queues:
          - name: edge_small
            models: {name: "shapes-*", max_parameters: 1000}
            tasks: [evaluate, service]
          - name: tagged
            models: {tags: {team: vision}}
            tasks: [evaluate]
            max_tasks: 1
          - name: general_baselines
            models: {name: "base-*"}
            tasks: [evaluate]
          - name: candidates
            trainers: "wide-*"
            tasks: [train-evaluate]
        """

    static func model(_ name: String, _ version: String, parameters: Int?, tags: [String: String] = [:]) -> CatalogModel
    {
        CatalogModel(
            name: name, version: version, runId: "run-\(name)-\(version)", aliases: [], tags: tags,
            parameters: parameters, modelBytes: parameters.map { $0 * 4 }, cardProblem: nil)
    }

    static var defaults: PipelineConfiguration.Train {
        // The embedded defaults (no file, no environment).
        (try? PipelineConfiguration.load(file: nil, environment: [:]))!.train
    }

    @Test func theYAMLIsReadWithEverySetting() throws {
        let sprint = try SprintConfiguration.parse(Self.yaml)
        #expect(sprint.id == "s1" && sprint.window?.hours == 4 && sprint.versions == .all)
        #expect(sprint.datasets == [.version("normalize-aaa"), .latest(name: "demo", stage: "normalize")])
        #expect(sprint.evaluation.validationFraction == 0.25 && sprint.evaluation.seed == 7)
        #expect(sprint.evaluation.smokeImages == 8)
        #expect(sprint.queues.map(\.name) == ["edge_small", "tagged", "general_baselines", "candidates"])
        #expect(sprint.trainers.map(\.name) == ["wide-cnn", "stray"] && sprint.trainers[0].convolutions == "16,32")
        #expect(sprint.trainers[0].backend == "builtin" && sprint.queues[3].trainers == "wide-*")
        #expect(sprint.queues[0].kinds == [.evaluate, .service] && sprint.queues[0].filter.maxParameters == 1000)
        #expect(sprint.queues[1].filter.tags == ["team": "vision"] && sprint.queues[1].maxTasks == 1)
    }

    @Test func everyProblemIsNamedWithItsLine() {
        let bad = """
            sprint: {id: "bad id"}
            datasets: []
            queues:
              - name: q
                tasks: [evaluate, fly]
                colour: blue
                timeout_seconds: 0
              - name: q
                tasks: [evaluate]
                max_tasks: 0
                trainers: "x*"
            """
        do {
            _ = try SprintConfiguration.parse(bad, path: "bad.yaml")
            Issue.record("a bad sprint was accepted")
        } catch {
            let text = error.description
            for expected in [
                "sprint.id (line 1)", "datasets (line 2): expected at least one dataset",
                "queues[0].tasks (line 5): expected task kinds among evaluate, service", "unknown key \"colour\"",
                "queues[0].timeout_seconds (line 7): expected seconds from 1 to 604800",
                "queues[1].name (line 8): expected a name no other queue has",
                "queues[1].max_tasks (line 10): expected a whole number of at least 1", "bad.yaml",
                "queues[1].trainers (line 11): expected train-evaluate among the queue's tasks",
            ] {
                #expect(text.contains(expected), "missing \(expected) in:\n\(text)")
            }
        }
    }

    @Test func modelsGoToTheFirstQueueThatTakesThemAndTheRestAreNamed() throws {
        let sprint = try SprintConfiguration.parse(Self.yaml)
        let models = [
            Self.model("shapes-small", "1", parameters: 500),
            Self.model("shapes-large", "2", parameters: 50_000, tags: ["team": "vision"]),
            Self.model("shapes-unknown", "1", parameters: nil),
            Self.model("base-linear", "3", parameters: 10),
            Self.model("other", "1", parameters: 10, tags: ["team": "vision"]),
        ]
        let datasets = [
            SprintTask.DatasetReference(id: "normalize-aaa", name: "demo", stage: "normalize"),
            SprintTask.DatasetReference(id: "normalize-bbb", name: "demo", stage: "normalize"),
        ]
        let planner = SprintPlanner(sprint: sprint, defaults: Self.defaults)
        let plan = planner.plan(models: models, datasets: datasets)
        let queues = Dictionary(uniqueKeysWithValues: plan.queues.map { ($0.name, $0) })
        #expect(queues["edge_small"]?.models == ["shapes-small@1"])
        // 1 model x 2 datasets x 2 kinds
        #expect(queues["edge_small"]?.tasks.count == 4)
        // shapes-large (too many parameters for edge_small) and other both carry the tag; the cap keeps 1 task.
        #expect(queues["tagged"]?.models == ["shapes-large@2", "other@1"])
        #expect(queues["tagged"]?.tasks.count == 1 && queues["tagged"]?.overCap.count == 3)
        #expect(queues["general_baselines"]?.models == ["base-linear@3"])
        #expect(plan.unassigned.map(\.model) == ["shapes-unknown@1", "trainer stray"])
        #expect(queues["candidates"]?.models == ["trainer wide-cnn"])
        let training = try #require(queues["candidates"]?.tasks)
        #expect(
            training.count == 2 && training.allSatisfy { $0.kind == .trainEvaluate && $0.trainer?.name == "wide-cnn" })
        #expect(plan.unassigned[0].reasons["candidates"] == "the queue only trains")
        let reasons = plan.unassigned[0].reasons
        #expect(reasons["edge_small"]?.contains("parameter count unknown") == true, "\(reasons)")
        #expect(reasons["tagged"] == "no tag team" && reasons["general_baselines"]?.contains("does not match") == true)
        // The task's settings come from the sprint, else the pipeline's training split.
        let task = try #require(queues["edge_small"]?.tasks.first)
        #expect(task.settings.validationFraction == 0.25 && task.settings.seed == 7 && task.settings.images == 8)

        // Planned again (later, another window): the same ids.
        let again = planner.plan(models: models.reversed(), datasets: datasets, now: Date().addingTimeInterval(3600))
        let ids = Set(plan.queues.flatMap(\.tasks).map(\.id) + plan.queues.flatMap(\.overCap))
        let idsAgain = Set(again.queues.flatMap(\.tasks).map(\.id) + again.queues.flatMap(\.overCap))
        #expect(ids == idsAgain && ids.count == 4 + 4 + 2 + 2)
    }

    @Test func thePlanIsWrittenForPeopleAndWorkers() throws {
        let directory = NSTemporaryDirectory() + "/sprint-plan-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sprint = try SprintConfiguration.parse(Self.yaml)
        let plan = SprintPlanner(sprint: sprint, defaults: Self.defaults).plan(
            models: [Self.model("shapes-small", "1", parameters: 500)],
            datasets: [.init(id: "normalize-aaa", name: "demo", stage: "normalize")])
        let written = try SprintPlanner.write(plan, to: directory)
        #expect(written.count == 2 + 2 * 4)
        let queue = try SprintQueueFile.read(path: directory + "/queues/edge_small.json")
        #expect(queue.tasks == plan.queues[0].tasks && queue.queue == "edge_small" && queue.sprint == "s1")
        let markdown = try String(contentsOfFile: directory + "/queues/edge_small.md", encoding: .utf8)
        #expect(markdown.contains("| [ ] | `\(queue.tasks[0].id)` | evaluate | shapes-small@1 |"))
        let summary = try String(contentsOfFile: directory + "/plan.md", encoding: .utf8)
        #expect(summary.contains("[edge_small](queues/edge_small.md)"))
        #expect(throws: SprintError.self) { try SprintQueueFile.read(path: directory + "/plan.json") }
    }
}
