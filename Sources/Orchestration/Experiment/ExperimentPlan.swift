import Foundation
internal import Yams

/// A model of an experiment: a builtin tabular model, or any command that reads the prepared
/// splits and writes `scores.csv` (the command backend's contract, extended: see README).
public struct ExperimentModel: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case builtin(TabularModelSpec)
        case command(String)
        /// The pipeline's builtin image classifier (`cnn`, or `image-softmax` without convolutions).
        case image(ImageModelSpec)
    }

    public let name: String
    public let source: Source
}

/// The pipeline's image classifier as an experiment model.
public struct ImageModelSpec: Sendable, Equatable {
    public let convolutions: [Int]
    public let epochs: Int
}

/// The datasets list (YAML `datasets:` or a CSV `name,path,label`) and the models list (YAML).
public enum ExperimentPlan {
    public static func datasets(path: String) throws -> [TabularSource] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SprintError("cannot read the datasets list \(path)")
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String {
            file.hasPrefix("/") || file.hasPrefix("store:") || base.isEmpty ? file : base + "/" + file
        }
        let sources = try datasetsUnchecked(text: text, path: path, resolve: resolve)
        var seen = Set<String>()
        for source in sources {
            guard !source.name.isEmpty, source.name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }),
                !source.name.hasPrefix(".")
            else {
                throw SprintError(
                    "\(path): the dataset name \"\(source.name)\" must be letters, digits, '-', '_' or '.'")
            }
            guard seen.insert(source.name).inserted else {
                throw SprintError("\(path): two datasets are named \(source.name)")
            }
        }
        return sources
    }

    static func datasetsUnchecked(text: String, path: String, resolve: (String) -> String) throws -> [TabularSource] {
        if path.lowercased().hasSuffix(".csv") {
            let table = try TabularData.csv(text, file: path)
            guard let names = table.column("name"), let paths = table.column("path") else {
                throw SprintError("\(path): a datasets CSV needs the columns name and path (and label, optional)")
            }
            let labels = table.column("label")
            return names.indices.map {
                TabularSource(
                    name: names[$0], path: resolve(paths[$0]), label: labels?[$0].isEmpty == false ? labels![$0] : nil)
            }
        }
        guard let root = try? Yams.compose(yaml: text), let list = root["datasets"]?.sequence else {
            throw SprintError("\(path): expected `datasets:` with a list of {name, path, label}")
        }
        return try list.enumerated().map { index, node in
            guard let name = node["name"]?.string else { throw SprintError("\(path): datasets[\(index)] needs a name") }
            if node["version"]?.string != nil || node["dataset"]?.string != nil {
                var source = TabularSource(name: name, path: "")
                source.version = node["version"]?.string
                source.pipelineDataset = node["dataset"]?.string
                source.stage = node["stage"]?.string ?? "normalize"
                return source
            }
            guard let file = node["path"]?.string else {
                throw SprintError(
                    "\(path): datasets[\(index)] (\(name)) needs a path, or a pipeline dataset (version, or dataset and stage)"
                )
            }
            return TabularSource(name: name, path: resolve(file), label: node["label"]?.string)
        }
    }

    public static func models(path: String) throws -> [ExperimentModel] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let root = try? Yams.compose(yaml: text),
            let list = root["models"]?.sequence
        else { throw SprintError("\(path): expected `models:` with a list of {name, kind | command, …}") }
        var models: [ExperimentModel] = []
        for (index, node) in list.enumerated() {
            guard let name = node["name"]?.string, !name.isEmpty,
                name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
            else { throw SprintError("\(path): models[\(index)] needs a name of letters, digits, '-', '_' or '.'") }
            guard !models.contains(where: { $0.name == name }) else {
                throw SprintError("\(path): two models are named \(name)")
            }
            if let command = node["command"]?.string {
                models.append(ExperimentModel(name: name, source: .command(command)))
                continue
            }
            if let kind = node["kind"]?.string, kind == "cnn" || kind == "image-softmax" {
                models.append(
                    ExperimentModel(
                        name: name,
                        source: .image(
                            ImageModelSpec(
                                convolutions: kind == "cnn"
                                    ? (node["convolutions"]?.string ?? "8,16,32").split(separator: ",").compactMap {
                                        Int($0.trimmingCharacters(in: .whitespaces))
                                    } : [],
                                epochs: node["epochs"]?.int ?? 15))))
                continue
            }
            guard let kindName = node["kind"]?.string, let kind = TabularModelSpec.Kind(rawValue: kindName) else {
                throw SprintError(
                    "\(path): models[\(index)] (\(name)) needs a kind (\(TabularModelSpec.Kind.allCases.map(\.rawValue).joined(separator: ", ")), or cnn or image-softmax for images) or a command"
                )
            }
            var spec = TabularModelSpec(name: name, kind: kind)
            spec.epochs = node["epochs"]?.int
            spec.learningRate = node["learning_rate"]?.float
            spec.neighbours = node["neighbours"]?.int
            spec.hidden = node["hidden"]?.int
            spec.seed = node["seed"]?.int.map { UInt64(max(0, $0)) }
            models.append(ExperimentModel(name: name, source: .builtin(spec)))
        }
        guard !models.isEmpty else { throw SprintError("\(path): no model") }
        return models
    }
}
