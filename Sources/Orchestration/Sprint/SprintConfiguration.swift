import Foundation
internal import Yams

/// A sprint as its YAML file describes it (`pipelinectl sprint plan --config sprint.yaml`): the
/// datasets to evaluate on, and the queues that split the model catalog between workers.
///
/// ```yaml
/// sprint: {id: demo-sprint, window: {start: 2026-12-07T08:00:00Z, hours: 4}}
/// catalog:
///   versions: latest                   # latest, aliased or all versions of each model
///   trainers: [{name: shapes-cnn-wide, model: cnn, convolutions: "16,32", epochs: 10}]
/// datasets: [normalize-1a2b…, {name: demo, stage: normalize}]
/// evaluation: {validation_fraction: 0.2, seed: 42, smoke_images: 16}
/// queues:
///   - name: edge_small
///     models: {name: "shapes-*", tags: {family: cnn}, max_parameters: 100000, max_model_bytes: 1000000}
///     tasks: [evaluate, service]
///     max_tasks: 20
///   - name: new_candidates
///     trainers: "shapes-*"               # the trainers its train-evaluate tasks train
///     tasks: [train-evaluate]
///     timeout_seconds: 600
/// ```
public struct SprintConfiguration: Sendable, Equatable {
    public var id: String
    public var window: Window?
    public var versions: VersionSelection
    /// Trainer configurations a `train-evaluate` task trains first, then evaluates.
    public var trainers: [TrainerSpec]
    public var datasets: [DatasetReference]
    public var evaluation: Evaluation
    public var queues: [QueueSpec]

    public struct Window: Sendable, Equatable, Codable {
        public var start: String?
        public var hours: Double
    }

    /// Which versions of a registered model the sprint evaluates.
    public enum VersionSelection: String, Sendable, Equatable, Codable, CaseIterable {
        /// The newest version only.
        case latest
        /// Every version an alias points at, and the newest.
        case aliased
        case all
    }

    /// A dataset version by id, or the newest published version of a dataset made by a stage.
    public enum DatasetReference: Sendable, Equatable {
        case version(String)
        case latest(name: String, stage: String)
    }

    /// How tasks evaluate: the held-out split (as training draws it) and the smoke mode.
    public struct Evaluation: Sendable, Equatable, Codable {
        /// nil: the pipeline configuration's `train.validation_fraction`.
        public var validationFraction: Double?
        /// nil: the pipeline configuration's `train.seed`.
        public var seed: UInt64?
        /// At most this many images a task (a smoke run); nil: the whole split.
        public var smokeImages: Int?
        /// Requests in flight at once for `service` tasks.
        public var serviceConcurrency: Int
    }

    public struct QueueSpec: Sendable, Equatable {
        public var name: String
        public var filter: ModelFilter
        public var kinds: [TaskKind]
        /// At most this many tasks in the queue; the rest are listed as over the cap.
        public var maxTasks: Int?
        public var timeoutSeconds: Double
        /// A glob over trainer names: the trainers this queue's `train-evaluate` tasks train.
        public var trainers: String?
    }

    /// A training configuration: `pipeline-train`'s settings for one model, registered under
    /// `name` (the builtin backend, or any command following the command backend's contract).
    public struct TrainerSpec: Sendable, Equatable, Codable {
        public var name: String
        public var backend: String
        /// `cnn` or `softmax` (builtin).
        public var model: String?
        public var epochs: Int?
        /// Channels of each convolution, e.g. `8,16` (builtin cnn).
        public var convolutions: String?
        /// The trainer process (command backend).
        public var command: String?
    }

    /// Which registered models a queue takes. Every condition must hold.
    public struct ModelFilter: Sendable, Equatable, Codable {
        /// A glob over the registered model's name (`*` any run of characters, `?` one).
        public var name: String
        /// Tags the model version must carry with these values.
        public var tags: [String: String]
        public var maxParameters: Int?
        public var maxModelBytes: Int?
    }
}

/// What a task does with a model and a dataset.
public enum TaskKind: String, Sendable, Equatable, Codable, CaseIterable {
    /// Batch inference on the held-out split through the stage's own code: quality and speed.
    case evaluate
    /// The same images over HTTP to `pipeline-infer serve` running that model version.
    case service
    /// A configured trainer trained on the dataset through the launcher and registered, then
    /// evaluated as `evaluate` does.
    case trainEvaluate = "train-evaluate"
}

/// A sprint file that cannot be used, with where and why.
public struct SprintConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public let path: String

    public var description: String {
        "\(path) is not a usable sprint configuration:\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
            + "\n(see examples/sprint/sprint.yaml)"
    }
}

extension SprintConfiguration {
    /// Reads and checks the YAML at `path`; every problem is named with its line.
    public static func load(path: String) throws(SprintConfigurationError) -> SprintConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SprintConfigurationError(
                problems: ["cannot read the file: \(error.localizedDescription)"], path: path)
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String = "sprint.yaml") throws(SprintConfigurationError)
        -> SprintConfiguration
    {
        var reader = NodeReader()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SprintConfigurationError(problems: ["not YAML: \(error)"], path: path)
        }
        guard let top = root.flatMap({ reader.mapping($0, at: "(top level)") }) else {
            throw SprintConfigurationError(
                problems: reader.problems.isEmpty ? ["the file is empty"] : reader.problems, path: path)
        }
        reader.allow(top, keys: ["sprint", "catalog", "datasets", "evaluation", "queues"], at: "(top level)")

        var id = ""
        var window: Window?
        if let sprint = reader.mapping(top["sprint"], at: "sprint", required: true) {
            reader.allow(sprint, keys: ["id", "window"], at: "sprint")
            id = reader.string(sprint["id"], at: "sprint.id", required: true) ?? ""
            if !id.isEmpty, !Self.isSafeName(id) {
                reader.problem("sprint.id", sprint["id"], "\"\(id)\": use letters, digits, '-', '_' and '.'")
            }
            if let node = reader.mapping(sprint["window"], at: "sprint.window") {
                reader.allow(node, keys: ["start", "hours"], at: "sprint.window")
                let hours = reader.number(node["hours"], at: "sprint.window.hours", required: true) ?? 0
                if hours <= 0 { reader.problem("sprint.window.hours", node["hours"], "a number of hours above 0") }
                window = Window(start: reader.string(node["start"], at: "sprint.window.start"), hours: hours)
            }
        }

        var versions = VersionSelection.latest
        var trainers: [TrainerSpec] = []
        if let catalog = reader.mapping(top["catalog"], at: "catalog") {
            reader.allow(catalog, keys: ["versions", "trainers"], at: "catalog")
            for (index, node) in (reader.sequence(catalog["trainers"], at: "catalog.trainers") ?? []).enumerated() {
                let at = "catalog.trainers[\(index)]"
                guard let mapping = reader.mapping(node, at: at) else { continue }
                reader.allow(mapping, keys: ["name", "backend", "model", "epochs", "convolutions", "command"], at: at)
                let name = reader.string(mapping["name"], at: at + ".name", required: true) ?? ""
                if trainers.contains(where: { $0.name == name }) {
                    reader.problem(at + ".name", mapping["name"], "a name no other trainer has")
                }
                let backend = reader.string(mapping["backend"], at: at + ".backend") ?? "builtin"
                if !["builtin", "command"].contains(backend) {
                    reader.problem(at + ".backend", mapping["backend"], "builtin or command")
                }
                let model = reader.string(mapping["model"], at: at + ".model")
                if let model, !["cnn", "softmax"].contains(model) {
                    reader.problem(at + ".model", mapping["model"], "cnn or softmax")
                }
                let convolutions = reader.string(mapping["convolutions"], at: at + ".convolutions")
                if let convolutions,
                    convolutions.split(separator: ",").contains(where: {
                        Int($0.trimmingCharacters(in: .whitespaces)) == nil
                    })
                {
                    reader.problem(at + ".convolutions", mapping["convolutions"], "channel counts such as 8,16")
                }
                let command = reader.string(mapping["command"], at: at + ".command")
                if backend == "command", command == nil {
                    reader.problem(at + ".command", mapping["command"], "the trainer command (backend command)")
                }
                trainers.append(
                    TrainerSpec(
                        name: name, backend: backend, model: model,
                        epochs: reader.integer(mapping["epochs"], at: at + ".epochs", minimum: 1),
                        convolutions: convolutions, command: command))
            }
            if let text = reader.string(catalog["versions"], at: "catalog.versions") {
                if let value = VersionSelection(rawValue: text) {
                    versions = value
                } else {
                    reader.problem(
                        "catalog.versions", catalog["versions"],
                        "one of " + VersionSelection.allCases.map(\.rawValue).joined(separator: ", "))
                }
            }
        }

        var datasets: [DatasetReference] = []
        if let list = reader.sequence(top["datasets"], at: "datasets", required: true) {
            for (index, node) in list.enumerated() {
                let at = "datasets[\(index)]"
                if let id = node.string {
                    datasets.append(.version(id))
                } else if let mapping = reader.mapping(node, at: at) {
                    reader.allow(mapping, keys: ["name", "stage"], at: at)
                    let name = reader.string(mapping["name"], at: at + ".name", required: true) ?? ""
                    let stage = reader.string(mapping["stage"], at: at + ".stage") ?? "normalize"
                    datasets.append(.latest(name: name, stage: stage))
                }
            }
            if list.isEmpty { reader.problem("datasets", top["datasets"], "at least one dataset") }
        }

        var evaluation = Evaluation(validationFraction: nil, seed: nil, smokeImages: nil, serviceConcurrency: 4)
        if let node = reader.mapping(top["evaluation"], at: "evaluation") {
            reader.allow(
                node, keys: ["validation_fraction", "seed", "smoke_images", "service_concurrency"], at: "evaluation")
            if let fraction = reader.number(node["validation_fraction"], at: "evaluation.validation_fraction") {
                if fraction <= 0 || fraction >= 1 {
                    reader.problem(
                        "evaluation.validation_fraction", node["validation_fraction"], "a fraction between 0 and 1")
                }
                evaluation.validationFraction = fraction
            }
            evaluation.seed = reader.integer(node["seed"], at: "evaluation.seed", minimum: 0).map { UInt64($0) }
            evaluation.smokeImages = reader.integer(node["smoke_images"], at: "evaluation.smoke_images", minimum: 1)
            evaluation.serviceConcurrency =
                reader.integer(node["service_concurrency"], at: "evaluation.service_concurrency", minimum: 1) ?? 4
        }

        var queues: [QueueSpec] = []
        if let list = reader.sequence(top["queues"], at: "queues", required: true) {
            for (index, node) in list.enumerated() {
                let at = "queues[\(index)]"
                guard let mapping = reader.mapping(node, at: at) else { continue }
                reader.allow(
                    mapping, keys: ["name", "models", "trainers", "tasks", "max_tasks", "timeout_seconds"], at: at)
                let name = reader.string(mapping["name"], at: at + ".name", required: true) ?? ""
                if !name.isEmpty, !Self.isSafeName(name) {
                    reader.problem(at + ".name", mapping["name"], "\"\(name)\": use letters, digits, '-', '_' and '.'")
                }
                if queues.contains(where: { $0.name == name }) {
                    reader.problem(at + ".name", mapping["name"], "a name no other queue has (\"\(name)\" is taken)")
                }
                var filter = ModelFilter(name: "*", tags: [:], maxParameters: nil, maxModelBytes: nil)
                if let models = reader.mapping(mapping["models"], at: at + ".models") {
                    reader.allow(
                        models, keys: ["name", "tags", "max_parameters", "max_model_bytes"], at: at + ".models")
                    filter.name = reader.string(models["name"], at: at + ".models.name") ?? "*"
                    if let tags = reader.mapping(models["tags"], at: at + ".models.tags") {
                        for (key, value) in tags {
                            guard let key = key.string, let value = value.string else {
                                reader.problem(at + ".models.tags", value, "tag: value pairs of text")
                                continue
                            }
                            filter.tags[key] = value
                        }
                    }
                    filter.maxParameters = reader.integer(
                        models["max_parameters"], at: at + ".models.max_parameters", minimum: 1)
                    filter.maxModelBytes = reader.integer(
                        models["max_model_bytes"], at: at + ".models.max_model_bytes", minimum: 1)
                }
                var kinds: [TaskKind] = []
                if let tasks = reader.sequence(mapping["tasks"], at: at + ".tasks", required: true) {
                    for task in tasks {
                        guard let text = task.string, let kind = TaskKind(rawValue: text) else {
                            reader.problem(
                                at + ".tasks", task,
                                "task kinds among " + TaskKind.allCases.map(\.rawValue).joined(separator: ", "))
                            continue
                        }
                        if !kinds.contains(kind) { kinds.append(kind) }
                    }
                    if tasks.isEmpty { reader.problem(at + ".tasks", mapping["tasks"], "at least one task kind") }
                }
                let trainerGlob = reader.string(mapping["trainers"], at: at + ".trainers")
                if trainerGlob != nil, !kinds.contains(.trainEvaluate) {
                    reader.problem(at + ".trainers", mapping["trainers"], "train-evaluate among the queue's tasks")
                }
                queues.append(
                    QueueSpec(
                        name: name, filter: filter, kinds: kinds,
                        maxTasks: reader.integer(mapping["max_tasks"], at: at + ".max_tasks", minimum: 1),
                        timeoutSeconds: {
                            let seconds = reader.number(mapping["timeout_seconds"], at: at + ".timeout_seconds") ?? 1800
                            if !(1...604_800).contains(seconds) {
                                reader.problem(
                                    at + ".timeout_seconds", mapping["timeout_seconds"],
                                    "seconds from 1 to 604800 (a week)")
                            }
                            return seconds
                        }(),
                        trainers: kinds.contains(.trainEvaluate) ? (trainerGlob ?? "*") : nil))
            }
            if list.isEmpty { reader.problem("queues", top["queues"], "at least one queue") }
        }
        guard reader.problems.isEmpty else { throw SprintConfigurationError(problems: reader.problems, path: path) }
        return SprintConfiguration(
            id: id, window: window, versions: versions, trainers: trainers, datasets: datasets, evaluation: evaluation,
            queues: queues)
    }

    /// Names that are safe as file and directory names and as parts of a queue name.
    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0)
            }
    }
}

/// Reads YAML nodes, collecting every problem (with its line) instead of stopping at the first.
private struct NodeReader {
    var problems: [String] = []

    mutating func problem(_ at: String, _ node: Node?, _ expected: String) {
        let line = node?.mark.map { " (line \($0.line))" } ?? ""
        problems.append("\(at)\(line): expected \(expected)")
    }

    mutating func allow(_ mapping: Node.Mapping, keys: [String], at: String) {
        for (key, _) in mapping {
            let name = key.string ?? "\(key)"
            if !keys.contains(name) {
                let line = key.mark.map { " (line \($0.line))" } ?? ""
                problems.append(
                    "\(at)\(line): unknown key \"\(name)\"; expected one of \(keys.joined(separator: ", "))")
            }
        }
    }

    mutating func mapping(_ node: Node?, at: String, required: Bool = false) -> Node.Mapping? {
        guard let node, node.null == nil else {
            if required { problems.append("\(at): missing") }
            return nil
        }
        guard let mapping = node.mapping else {
            problem(at, node, "a mapping")
            return nil
        }
        return mapping
    }

    mutating func sequence(_ node: Node?, at: String, required: Bool = false) -> Node.Sequence? {
        guard let node, node.null == nil else {
            if required { problems.append("\(at): missing") }
            return nil
        }
        guard let sequence = node.sequence else {
            problem(at, node, "a list")
            return nil
        }
        return sequence
    }

    mutating func string(_ node: Node?, at: String, required: Bool = false) -> String? {
        guard let node, node.null == nil else {
            if required { problems.append("\(at): missing") }
            return nil
        }
        guard let text = node.scalar?.string, !text.isEmpty else {
            problem(at, node, "text")
            return nil
        }
        return text
    }

    mutating func number(_ node: Node?, at: String, required: Bool = false) -> Double? {
        guard let text = string(node, at: at, required: required) else { return nil }
        guard let value = Double(text), value.isFinite else {
            problem(at, node, "a number, not \"\(text)\"")
            return nil
        }
        return value
    }

    mutating func integer(_ node: Node?, at: String, minimum: Int) -> Int? {
        guard let text = string(node, at: at) else { return nil }
        guard let value = Int(text), value >= minimum else {
            problem(at, node, "a whole number of at least \(minimum), not \"\(text)\"")
            return nil
        }
        return value
    }
}
