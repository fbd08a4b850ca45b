import Foundation
import Hummingbird
import Learning
import Logging
import Metrics
import NIOCore
import PipelineCommon
import ServiceLifecycle
import Synchronization

/// The model being served, swapped whole when the alias moves: a request holds the model it
/// started with, so a swap never fails a request in flight.
public final class ModelHolder: Sendable {
    private let current = Mutex<LoadedModel?>(nil)
    let readiness: ReadinessState

    public init(readiness: ReadinessState) {
        self.readiness = readiness
        readiness.markNotReady("model", reason: "no model loaded yet")
    }

    public var model: LoadedModel? { current.withLock { $0 } }

    public func swap(to model: LoadedModel) {
        let previous = current.withLock { value -> LoadedModel? in
            let old = value
            value = model
            return old
        }
        if let previous {
            Gauge(
                label: "pipeline_infer_model_info",
                dimensions: [("name", previous.name), ("version", previous.version)]
            )
            .record(0)
        }
        Gauge(label: "pipeline_infer_model_info", dimensions: [("name", model.name), ("version", model.version)])
            .record(1)
        readiness.markReady("model")
    }
}

/// Watches the alias and loads the model it points at, every `interval`.
public struct ModelWatcher: Service {
    let source: ModelSource
    let holder: ModelHolder
    let interval: Duration
    let logger: Logger

    public init(source: ModelSource, holder: ModelHolder, interval: Duration, logger: Logger) {
        self.source = source
        self.holder = holder
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await check()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Loads the alias's version if it is not the one served.
    public func check() async {
        do {
            guard let version = try await source.currentVersion() else {
                if holder.model == nil {
                    holder.readiness.markNotReady(
                        "model", reason: "registered model has no \"approved\" version yet")
                }
                return
            }
            guard version.version != holder.model?.version else { return }
            let model = try await source.load(version)
            let previous = holder.model?.version
            holder.swap(to: model)
            Counter(label: "pipeline_infer_model_reloads_total").increment()
            logger.notice(
                "serving model",
                metadata: [
                    "name": "\(model.name)", "version": "\(model.version)",
                    "previous": "\(previous ?? "none")",
                ])
        } catch {
            Counter(label: "pipeline_infer_errors_total", dimensions: [("kind", "model_load")]).increment()
            logger.error("could not load the approved model; serving the previous one", metadata: ["error": "\(error)"])
        }
    }
}

/// `POST /predict`: the image as the body (any image type), or `{"key": "<object key>"}`;
/// answers `{"model", "version", "predictions": [{"label", "score"}]}`. Bad input gets a 4xx
/// with the reason and is counted by kind; the service stays up.
public struct PredictionEndpoint: Sendable {
    let holder: ModelHolder
    let objects: any ObjectStore
    let inference: Inference
    let staging: StagingRun
    let maxBody: Int
    let topK: Int
    let logger: Logger

    public init(
        holder: ModelHolder, objects: any ObjectStore, configuration: PipelineConfiguration, scratch: StagingRun,
        logger: Logger
    ) {
        self.holder = holder
        self.objects = objects
        self.inference = Inference(pixelLimit: configuration.infer.maxPixels)
        self.staging = scratch
        self.maxBody = configuration.infer.maxBodyBytes
        self.topK = configuration.infer.topK
        self.logger = logger
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.post("/predict") { request, _ -> Response in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxBody)
            } catch {
                return Self.failure(
                    .contentTooLarge, kind: "too_large", "body over \(maxBody) bytes (infer.max_body_mib)")
            }
            let isJSON = request.headers[.contentType]?.lowercased().hasPrefix("application/json") ?? false
            return await predict(Data(buffer: body), json: isJSON)
        }
    }

    func predict(_ body: Data, json: Bool) async -> Response {
        let started = ContinuousClock.now
        guard let model = holder.model else {
            return Self.failure(.serviceUnavailable, kind: "no_model", "no approved model is loaded yet")
        }
        guard !body.isEmpty else {
            return Self.failure(.badRequest, kind: "empty", "empty body: send image bytes or {\"key\": …}")
        }
        let path = staging.inputDirectory + "/\(UUID().uuidString)"
        defer { unlink(path) }
        let image: ImageInput
        if json {
            struct Named: Decodable { let key: String }
            guard let named = try? JSONDecoder().decode(Named.self, from: body), !named.key.isEmpty else {
                return Self.failure(.badRequest, kind: "bad_json", "a JSON body must be {\"key\": \"<object key>\"}")
            }
            do {
                // Into this request's own file of the staging run (the store checks the bytes
                // against its record), counted as every stage counts what it stages.
                let fetched = try await objects.get(named.key, to: path)
                Counter(label: "pipeline_staging_bytes_total", dimensions: [("stage", staging.stage)]).increment(
                    by: Int(fetched.bytesWritten))
            } catch let error as ObjectStoreError where error.kind == .notFound || error.kind == .invalidKey {
                return Self.failure(.notFound, kind: "unknown_key", "no object \(named.key) in \(objects.location)")
            } catch {
                return Self.failure(.badGateway, kind: "object_store", "cannot read \(named.key): \(error)")
            }
            image = .file(path)
        } else {
            // The body as it came (up to infer.max_body_mib), decoded from memory; written to
            // this request's file (on the file pool) only for a format libvips reads from files alone.
            do {
                image = try await BlockingPools.files.runIfActive { try ImageInput.staged(body, at: path) }
            } catch {
                // The disk's fault, not the image's: a 500, the cause in the log.
                logger.error("cannot stage a request body", metadata: ["path": "\(path)", "error": "\(error)"])
                return Self.failure(.internalServerError, kind: "internal", "cannot stage the body")
            }
        }
        do {
            let (predictions, info) = try await inference.predict(image, model: model, topK: topK)
            BatchInference.count(model, outcome: "ok", started: started, score: predictions.first?.score)
            struct Answer: Encodable {
                let model: String
                let version: String
                let width: Int
                let height: Int
                let predictions: [Inference.Prediction]
            }
            let answer = Answer(
                model: model.name, version: model.version, width: info.displayWidth, height: info.displayHeight,
                predictions: predictions)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: (try? JSONEncoder.canonical.encode(answer)) ?? Data())))
        } catch {
            switch error {
            case .badImage(let rejection):
                Counter(
                    label: "pipeline_infer_predictions_total",
                    dimensions: [("model_version", model.version), ("outcome", "bad_image")]
                ).increment()
                let status: HTTPResponse.Status =
                    rejection.reason == "too many pixels" ? .contentTooLarge : .unprocessableContent
                return Self.failure(
                    status, kind: rejection.reason.replacingOccurrences(of: " ", with: "_"), rejection.description)
            case .internalError(let message):
                logger.error("prediction failed", metadata: ["error": "\(message)"])
                return Self.failure(.internalServerError, kind: "internal", "prediction failed")
            }
        }
    }

    static func failure(_ status: HTTPResponse.Status, kind: String, _ reason: String) -> Response {
        Counter(label: "pipeline_infer_errors_total", dimensions: [("kind", kind)]).increment()
        let body =
            (try? JSONSerialization.data(withJSONObject: ["error": reason, "kind": kind], options: [.sortedKeys]))
            ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: body))
        )
    }
}

/// Updates `pipeline_infer_images_per_second` from the predictions of the last interval.
public struct ThroughputGauge: Service {
    public init() {}
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let before = PredictionCount.total.load(ordering: .relaxed)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(5)) }
            let after = PredictionCount.total.load(ordering: .relaxed)
            Gauge(label: "pipeline_infer_images_per_second").record(Double(after - before) / 5)
        }
    }
}

enum PredictionCount {
    static let total = Atomic<Int>(0)
}
