import Foundation

/// What `sprint plan` decided: the datasets, each queue's models and tasks, and the models no
/// queue took with the reason each queue gave.
public struct SprintPlan: Sendable, Codable, Equatable {
    public let format: String
    public let sprint: String
    public let window: SprintConfiguration.Window?
    public let plannedAt: String
    public let datasets: [SprintTask.DatasetReference]
    public let queues: [Queue]
    public let unassigned: [Unassigned]

    public struct Queue: Sendable, Codable, Equatable {
        public let name: String
        public let kinds: [TaskKind]
        public let models: [String]
        public let tasks: [SprintTask]
        /// Tasks left out by the queue's `max_tasks`, by id.
        public let overCap: [String]
    }

    public struct Unassigned: Sendable, Codable, Equatable {
        public let model: String
        /// Queue name → why its filter refused the model.
        public let reasons: [String: String]
    }
}

/// The file a worker takes (`queues/<queue>.json`): everything it needs to run the queue.
public struct SprintQueueFile: Sendable, Codable, Equatable {
    public let format: String
    public let sprint: String
    public let queue: String
    public let tasks: [SprintTask]

    public static let formatName = "image-pipeline sprint queue v1"

    public init(format: String = formatName, sprint: String, queue: String, tasks: [SprintTask]) {
        self.format = format
        self.sprint = sprint
        self.queue = queue
        self.tasks = tasks
    }

    public static func read(path: String) throws -> SprintQueueFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SprintError("cannot read the queue file \(path): \(error.localizedDescription)")
        }
        guard let file = try? SprintJSON.decoder.decode(SprintQueueFile.self, from: data), file.format == formatName
        else {
            throw SprintError(
                "\(path) is not a sprint queue file (\(formatName)); make one with pipelinectl sprint plan")
        }
        return file
    }
}

/// A sprint command that cannot go on, and what to do.
public struct SprintError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
