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
                $0.status == .ok && !$0.sourceKey.contains("#aug") && $0.variants["original"] != nil
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
        let queue = "infer/\(scope)"
        try await manifests.enqueue(
            queue: queue,
            items: items.map {
                ($0.sourceKey, String(decoding: (try? JSONEncoder().encode($0)) ?? Data(), as: UTF8.self))
            })
        let drafts = SharedDraft(
            store: manifests, stage: "infer", dataset: inputName, scope: scope, parents: parent.map { [$0] } ?? [],
            seedFromLastPublished: false, configHash: hash,
            config:
                "{\"model\":\"\(model.name)\",\"model_version\":\"\(model.version)\",\"run_id\":\"\(model.runId)\"}",
            lease: .seconds(300))
        let staging = StagingArea(configuration.staging, logger: logger)
        let inference = Inference(pixelLimit: configuration.ingest.maxPixels)
        try await drafts.drain(queue: queue, worker: worker, batchSize: configuration.infer.batchSize) {
            claims, draft, _ in
            let run = try staging.makeRun(stage: "infer", runId: "\(worker)-\(UUID().uuidString.lowercased())")
            let model = self.model
            let objects = self.objects
            let topK = configuration.infer.topK
            let results = try await concurrentMap(
                count: claims.count, limit: ProcessInfo.processInfo.activeProcessorCount
            ) { index -> ClaimOutcome in
                guard let item = try? JSONDecoder().decode(DatasetItem.self, from: Data(claims[index].payload.utf8)),
                    let original = item.variants["original"]
                else { return .unreadable }
                let started = ContinuousClock.now
                var phases = PhaseTimes(stage: "infer")
                defer { phases.record(logger, key: item.sourceKey) }
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
                        validated: parent != nil && !item.sha256.isEmpty)
                    Self.count(model, outcome: "ok", started: started, score: predictions.first?.score)
                    return .item(
                        DatasetItem(
                            sourceKey: item.sourceKey, sha256: staged.sha256, size: staged.size,
                            width: info.displayWidth,
                            height: info.displayHeight, format: info.format,
                            annotations: Self.json(
                                predictions.prefix(1).map { ImageAnnotation(label: $0.label, score: $0.score) }),
                            variants: item.variants))
                } catch let failure as InferenceFailure {
                    Self.count(model, outcome: "bad_image", started: started, score: nil)
                    return .item(
                        DatasetItem(
                            sourceKey: item.sourceKey, sha256: item.sha256, size: item.size, status: .rejected,
                            reason: failure.description))
                } catch  where Outage.isOutage(error) {
                    // The store unreachable or the staging root full: the image goes back to the
                    // queue without using up an attempt, and the run waits the outage out.
                    logger.warning(
                        "infer attempt failed; the image goes back to the queue",
                        metadata: ["key": "\(item.sourceKey)", "error": "\(error)"])
                    return .outage("\(error)")
                } catch {
                    Self.count(model, outcome: "error", started: started, score: nil)
                    return .item(
                        DatasetItem(
                            sourceKey: item.sourceKey, sha256: item.sha256, size: item.size, status: .rejected,
                            reason: "inference failed: \(error)"))
                }
            }
            var done: [DatasetItem] = []
            var doneKeys: [String] = []
            var unreadable: [(key: String, error: String)] = []
            var outages: [(key: String, error: String)] = []
            for (claim, outcome) in zip(claims, results) {
                switch outcome {
                case .item(let item):
                    done.append(item)
                    doneKeys.append(claim.key)
                case .unreadable: unreadable.append((claim.key, "unreadable work payload"))
                case .outage(let error): outages.append((claim.key, error))
                }
            }
            var phases = PhaseTimes(stage: "infer")
            let (failures, recorded) = try await manifests.recordBatch(
                items: done, into: draft, queue: queue, worker: worker, done: doneKeys, failed: unreadable,
                outages: outages)
            phases.lap("record")
            phases.record(logger, key: "batch of \(claims.count)")
            run.finish(succeeded: failures.isEmpty)
            // A batch whose recording failed went back to the queue whole: it counts when redone.
            if recorded {
                report.images += done.filter { $0.status == .ok }.count
                report.failed += done.filter { $0.status == .rejected }.count
            }
            let count = report.images
            progress?.show { String(format: "infer: %d images, %.1f images/s", count, Double(count) / $0) }
            // Failures make the run pause before its next batch, and outages are waited out.
            return failures.count
        }
        progress?.finish()
        report.version = try await publish(drafts: drafts, queue: queue)
        if let version = report.version { report.outputs = try await writeOutputs(version) }
        await WorkHousekeeper(store: manifests, retention: configuration.manifest.workRetention).pruneIfDue(
            logger: logger)
        report.seconds = (ContinuousClock.now - started).seconds
        return report
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

    private func publish(drafts: SharedDraft, queue: String) async throws -> DatasetVersion? {
        guard case .open(let id) = try await drafts.state().state else {
            if let published = try await drafts.lastPublished() { return try await manifests.version(published) }
            return nil
        }
        guard try await drafts.beginPublishing(id) else { return nil }
        do {
            guard let draft = try await manifests.version(id) else { throw InferError("draft \(id) vanished") }
            let staging = StagingArea(configuration.staging, logger: logger)
            let run = try staging.makeRun(stage: "infer", runId: "publish-\(UUID().uuidString.lowercased())")
            defer { run.finish(succeeded: true) }
            let version = try await ManifestPublisher(store: manifests, objects: objects, logger: logger).publish(
                draft, prefix: configuration.manifest.filesPrefix + draft.name + "/",
                workDirectory: run.outputDirectory,
                recording: drafts.publishedCheckpoint)
            try await drafts.endPublishing(id, published: version.id)
            return version
        } catch {
            try? await drafts.abandonPublishing(id)
            throw error
        }
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

/// What became of one claimed image.
private enum ClaimOutcome: Sendable {
    /// Predicted, or rejected with its reason: recorded.
    case item(DatasetItem)
    /// A payload that is not an item: failed back to the queue.
    case unreadable
    /// A service it needs was unreachable: given back without using up an attempt.
    case outage(String)
}
