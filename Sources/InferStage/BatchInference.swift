import Foundation
import Learning
import Logging
import Metrics
import PipelineCommon

/// `pipeline-infer batch`: predictions for every image of a dataset version (or under a
/// prefix), shared by any number of workers through the work queue, published as an `infer`
/// version linked to its input and model, and written for human review: Label Studio tasks
/// with predictions and COCO results.
public struct BatchInference: Sendable {
    public struct Report: Sendable {
        public var version: DatasetVersion?
        public var images = 0
        public var failed = 0
        public var outputs: [String: String] = [:]
        public var seconds: Double = 0
    }

    let configuration: PipelineConfiguration
    let objects: any ObjectStore
    let manifests: any ManifestStore
    let model: LoadedModel
    let logger: Logger
    let worker = WorkerIdentity.current.description

    public init(
        configuration: PipelineConfiguration, objects: any ObjectStore, manifests: any ManifestStore,
        model: LoadedModel, logger: Logger
    ) {
        self.configuration = configuration
        self.objects = objects
        self.manifests = manifests
        self.model = model
        self.logger = logger
    }

    /// The images of a version: its accepted originals (augmented copies left out).
    public func items(of version: DatasetVersion) async throws -> [DatasetItem] {
        var items: [DatasetItem] = []
        var after: String?
        repeat {
            let page = try await manifests.items(of: version.id, after: after, limit: 1000)
            items += page.filter {
                $0.status == .ok && $0.augmentedCopy == nil && $0.variants["original"] != nil
            }
            after = page.count == 1000 ? page.last?.sourceKey : nil
        } while after != nil
        return items
    }

    /// The images under `prefix` in the object store, as items.
    public func items(under prefix: String) async throws -> [DatasetItem] {
        var items: [DatasetItem] = []
        for try await object in objects.listAll(prefix: prefix) where !object.key.hasSuffix("/") {
            items.append(
                DatasetItem(
                    sourceKey: object.key, sha256: object.sha256 ?? "", size: object.size,
                    variants: ["original": .init(key: object.key, size: object.size)]))
        }
        return items
    }

    /// Runs over `items` (named `inputName`, from version `parent` if any) to the end and publishes.
    public func run(items: [DatasetItem], inputName: String, parent: String?, progress: ProgressLine? = nil)
        async throws -> Report
    {
        let started = ContinuousClock.now
        var report = Report()
        let modelTag = "\(model.name)@\(model.version)"
        // The run id too: a registry that was reset reuses version numbers for other models.
        let identity = "model=\(modelTag);run=\(model.runId);input=\(parent ?? inputName)"
        let hash = Hex.encode(SHA256.hash(Data(identity.utf8)))
        let scope = "\(parent ?? inputName)/\(hash.prefix(16))"
        let stage = StageRun(
            StageRun.Identity(
                stage: "infer", dataset: inputName, scope: scope, parents: parent.map { [$0] } ?? [], configHash: hash,
                config:
                    "{\"model\":\"\(model.name)\",\"model_version\":\"\(model.version)\",\"run_id\":\"\(model.runId)\"}"
            ),
            configuration: configuration, objects: objects, manifests: manifests,
            batchSize: configuration.infer.batchSize, lease: .seconds(300), logger: logger, worker: worker)
        try await stage.enqueue(items)
        let inference = Inference(pixelLimit: configuration.infer.maxPixels)
        try await stage.drain(
            transform: { claims, _, run in
                try await predict(claims, inference: inference, validated: parent != nil, run: run)
            },
            recorded: { batch in
                // A batch whose recording failed went back to the queue whole: it counts when redone.
                for status in batch.done {
                    if status == .ok { report.images += 1 } else { report.failed += 1 }
                }
                let count = report.images
                progress?.show { String(format: "infer: %d images, %.1f images/s", count, Double(count) / $0) }
            })
        progress?.finish()
        report.version = try await stage.publishIfIdle()
        if report.version == nil { report.version = try await stage.lastPublished() }
        if let version = report.version { report.outputs = try await writeOutputs(version) }
        await stage.pruneFinishedWork()
        report.seconds = (ContinuousClock.now - started).seconds
        return report
    }

    /// One batch: every claimed image staged (its recorded SHA-256 checked) and predicted; an
    /// image that cannot be read or predicted is recorded as rejected with its reason.
    private func predict(_ claims: [ClaimedWork], inference: Inference, validated: Bool, run: StagingRun)
        async throws -> [WorkOutcome<DatasetItem.Status>]
    {
        let model = self.model
        let objects = self.objects
        let logger = self.logger
        let topK = configuration.infer.topK
        return try await concurrentMap(count: claims.count, limit: ProcessInfo.processInfo.activeProcessorCount) {
            index -> WorkOutcome<DatasetItem.Status> in
            guard let item = StageRun.item(of: claims[index]), let original = item.variants["original"] else {
                return .failed("unreadable work payload")
            }
            let started = ContinuousClock.now
            var phases = PhaseTimes(stage: "infer")
            defer { phases.record(logger, key: item.sourceKey) }
            let rejected = { (reason: String) -> WorkOutcome<DatasetItem.Status> in
                .done(
                    items: [
                        DatasetItem(
                            sourceKey: item.sourceKey, sha256: item.sha256, size: item.size, status: .rejected,
                            reason: reason)
                    ], detail: .rejected)
            }
            do {
                // An item of a dataset version is verified against the SHA-256 ingest recorded
                // after decoding every pixel: the same bytes, so not decoded whole again.
                // Objects under a prefix were never validated: they are, in full.
                let staged = try await run.stageImage(
                    original.key, from: objects, size: original.size, expectedSHA256: item.sha256)
                defer { staged.discard() }
                phases.lap("stage")
                let (predictions, info) = try await inference.predict(
                    staged.input, model: model, topK: topK, phases: &phases,
                    validated: validated && !item.sha256.isEmpty)
                Self.count(model, outcome: "ok", started: started, score: predictions.first?.score)
                return .done(
                    items: [
                        DatasetItem(
                            sourceKey: item.sourceKey, sha256: staged.sha256, size: staged.size,
                            width: info.displayWidth, height: info.displayHeight, format: info.format,
                            annotations: Self.json(
                                predictions.prefix(1).map { ImageAnnotation(label: $0.label, score: $0.score) }),
                            variants: item.variants)
                    ], detail: .ok)
            } catch let failure as InferenceFailure {
                Self.count(model, outcome: "bad_image", started: started, score: nil)
                return rejected(failure.description)
            } catch  where Outage.isOutage(error) {
                // The store unreachable or the staging root full: the image goes back to the
                // queue without using up an attempt, and the run waits the outage out.
                logger.warning(
                    "infer attempt failed; the image goes back to the queue",
                    metadata: ["key": "\(item.sourceKey)", "error": "\(error)"])
                return .outage("\(error)")
            } catch {
                Self.count(model, outcome: "error", started: started, score: nil)
                return rejected("inference failed: \(error)")
            }
        }
    }

    static func count(_ model: LoadedModel, outcome: String, started: ContinuousClock.Instant, score: Double?) {
        if outcome == "ok" { PredictionCount.total.add(1, ordering: .relaxed) }
        Counter(
            label: "pipeline_infer_predictions_total",
            dimensions: [("model_version", model.version), ("outcome", outcome)]
        ).increment()
        Timer(label: "pipeline_infer_prediction_duration_seconds").recordInterval(since: started)
        if let score { Recorder(label: "pipeline_infer_score", aggregate: true).record(score) }
    }

    static func json(_ annotations: [ImageAnnotation]) -> String {
        String(decoding: (try? JSONEncoder.canonical.encode(annotations)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Label Studio tasks with predictions, and COCO images + results, under
    /// `<infer.prefix><dataset>/<version>/`.
    func writeOutputs(_ version: DatasetVersion) async throws -> [String: String] {
        let items = try await manifests.items(of: version.id, after: nil, limit: 1_000_000).filter { $0.status == .ok }
        let prefix = "\(configuration.infer.prefix)\(version.name)/\(version.id)/"
        let classes = model.predictor.model.header.classes
        var tasks: [LabelStudioTask] = []
        var images: [(fileName: String, width: Int, height: Int, annotations: [ImageAnnotation])] = []
        var results: [[String: Any]] = []
        for (index, item) in items.enumerated() {
            let predictions =
                (try? JSONDecoder().decode([ImageAnnotation].self, from: Data(item.annotations.utf8))) ?? []
            let width = item.width ?? 1
            let height = item.height ?? 1
            tasks.append(
                LabelStudioTask(
                    id: index + 1, data: ["image": imageReference(item.sourceKey)],
                    predictions: [
                        .init(
                            modelVersion: "\(model.name)@\(model.version)", score: predictions.first?.score,
                            result: AnnotationConverter.labelStudioResults(predictions, width: width, height: height))
                    ]))
            images.append((item.sourceKey, width, height, []))
            for prediction in predictions {
                guard let category = classes.firstIndex(of: prediction.label) else { continue }
                results.append([
                    "image_id": index, "category_id": category,
                    "bbox": [0, 0, width, height].map(Double.init), "score": prediction.score ?? 0,
                ])
            }
        }
        let coco = AnnotationConverter.coco(images: images, categories: classes)
        let tasksKey = prefix + "labelstudio_tasks.json"
        let imagesKey = prefix + "coco_images.json"
        let resultsKey = prefix + "coco_results.json"
        _ = try await objects.put(
            tasksKey, data: try JSONEncoder.canonical.encode(tasks), contentType: "application/json")
        _ = try await objects.put(
            imagesKey, data: try JSONEncoder.canonical.encode(coco), contentType: "application/json")
        _ = try await objects.put(
            resultsKey, data: try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys]),
            contentType: "application/json")
        let configKey = prefix + "labeling_config.xml"
        _ = try await objects.put(
            configKey, data: Data(LabelingConfig.xml(labels: classes).utf8), contentType: "application/xml")
        return [
            "label_studio_tasks": tasksKey, "label_studio_config": configKey, "coco_images": imagesKey,
            "coco_results": resultsKey,
        ]
    }

    /// How Label Studio (and ingest, when the reviewed export comes back) refers to an image.
    func imageReference(_ key: String) -> String {
        switch objects.location {
        case .s3: objects.location.uri(of: key)
        case .file: "/data/local-files/?d=\(key)"
        }
    }
}
