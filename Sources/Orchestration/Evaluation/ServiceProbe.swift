import Foundation
import Logging
import PipelineCommon

/// A `service` task: the model version behind `pipeline-infer serve --model-version` on a
/// loopback port, driven over HTTP with the task's images by ``EvaluationHarness``, the same
/// harness `evaluate` uses, so the two give comparable figures and the same predictions.
struct ServiceProbe: Sendable {
    let configuration: PipelineConfiguration
    let objects: any ObjectStore
    let logger: Logger

    /// `PIPELINE_INFER_BINARY`, else `pipeline-infer` beside this executable.
    static var serverBinary: String {
        if let path = ProcessInfo.processInfo.environment["PIPELINE_INFER_BINARY"], !path.isEmpty { return path }
        let own =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (own as NSString).deletingLastPathComponent + "/pipeline-infer"
    }

    func run(_ images: [LabelledImage], task: SprintTask, directory: String) async throws -> (
        [ImageOutcome], Double, [String: Double]
    ) {
        // The bytes first, outside the timing: the figures are the service's.
        let bodies = try await concurrentMap(count: images.count, limit: 8) { index in
            try await objects.data(images[index].object, limit: 256 << 20).bytes
        }
        let binary = Self.serverBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw SprintTaskRunner.Failure(
                failureClass: .crash,
                reason: "no pipeline-infer at \(binary); set PIPELINE_INFER_BINARY to run service tasks")
        }
        let port = try Self.freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: binary)
        server.arguments = ["serve", "--model-version", task.model.version] + Self.configArguments
        var environment = ProcessInfo.processInfo.environment
        environment["PIPELINE_REGISTERED_MODEL"] = task.model.name
        environment["PIPELINE_METRICS_HOST"] = "127.0.0.1"
        environment["PIPELINE_METRICS_PORT"] = "\(port)"
        environment["PIPELINE_INFER_TOP_K"] = "100"
        server.environment = environment
        let log = directory + "/serve.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = FileHandle(forWritingAtPath: log)
        server.standardOutput = output
        server.standardError = output
        let launched = ContinuousClock.now
        try server.run()
        defer {
            if server.isRunning {
                server.terminate()
                server.waitUntilExit()
            }
        }
        let http = HTTPClient(configuration: .init(configuration.http), logger: logger)
        let base = "http://127.0.0.1:\(port)"
        // Cold start: from launch to the first prediction answered.
        var firstPrediction: Double?
        let deadline = ContinuousClock.now + .seconds(120)
        while firstPrediction == nil {
            guard server.isRunning else {
                throw SprintTaskRunner.Failure(
                    failureClass: .load,
                    reason:
                        "pipeline-infer serve exited with status \(server.terminationStatus) before answering (see serve.log)"
                )
            }
            guard ContinuousClock.now < deadline else {
                throw SprintTaskRunner.Failure(
                    failureClass: .timeout, reason: "pipeline-infer serve did not answer within 120 s (see serve.log)")
            }
            if let response = try? await http.execute(
                HTTPRequest(
                    method: "POST", url: URL(string: base + "/predict")!, body: .bytes(bodies[0]),
                    timeout: .seconds(30), retryPolicy: .never)), response.status == 200
            {
                firstPrediction = (ContinuousClock.now - launched).seconds * 1000
            } else {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        let byKey = Dictionary(zip(images.map(\.key), bodies), uniquingKeysWith: { first, _ in first })
        let (outcomes, seconds) = try await EvaluationHarness.run(images, concurrency: task.settings.concurrency) {
            image in
            let response = try await http.execute(
                HTTPRequest(
                    method: "POST", url: URL(string: base + "/predict")!, body: .bytes(byKey[image.key] ?? Data()),
                    timeout: .seconds(60), retryPolicy: .never))
            guard response.status == 200 else {
                throw SprintError(
                    "HTTP \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
            }
            struct Answer: Decodable {
                struct Prediction: Decodable {
                    let label: String
                    let score: Double
                }
                let predictions: [Prediction]
            }
            let answer = try JSONDecoder().decode(Answer.self, from: response.body)
            return Dictionary(answer.predictions.map { ($0.label, $0.score) }, uniquingKeysWith: { a, _ in a })
        }
        let extra: [String: Double] = [
            "first_prediction_ms": firstPrediction ?? 0,
            "requests_per_second": seconds > 0 ? Double(outcomes.filter { $0.error == nil }.count) / seconds : 0,
            "concurrency": Double(task.settings.concurrency),
        ]
        return (outcomes, seconds, extra)
    }

    /// `--config FILE` when this process was given one, for the server to read the same.
    static var configArguments: [String] {
        let arguments = CommandLine.arguments
        if let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count {
            return ["--config", arguments[index + 1]]
        }
        if let joined = arguments.first(where: { $0.hasPrefix("--config=") }) { return [joined] }
        return []
    }

    /// A loopback port free now (bound, read, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SprintError("no socket for a free port: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw SprintError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
