import Foundation
import Logging
import Metrics
import PipelineCommon
import Synchronization

/// Stage 1: finds new or changed raw images (by listing, or from bucket notifications),
/// queues them in the manifest store so that any number of workers share them, ingests
/// them into the open draft of the dataset, and publishes that draft as a version once
/// the queue is idle.
public final class Ingestor: Sendable {
    public struct PollReport: Sendable, Equatable {
        /// Objects under the raw prefix (annotation files and folder markers not counted).
        public var listed = 0
        /// Of those, new or changed since they were last queued.
        public var queued = 0
        /// Objects of the latest version no longer listed, queued for removal.
        public var removals = 0
    }

    public struct WorkReport: Sendable, Equatable {
        public var objects = 0
        public var accepted = 0
        public var rejected = 0
        public var duplicates = 0
        public var items = 0
        public var bytes: UInt64 = 0
        /// Attempts that failed (store or network errors) and were handed back to the queue.
        public var failures = 0
        /// Deleted objects whose items left the draft.
        public var removed = 0
        /// Images whose annotations changed with the annotation files, in place.
        public var reannotated = 0
    }

    public struct RunReport: Sendable {
        public var poll: PollReport
        public var work: WorkReport
        public var published: DatasetVersion?
        /// Objects that used up their attempts (see `pipelinectl` for the queue).
        public var dead: Int
        public var seconds: Double
    }

    public let configuration: PipelineConfiguration
    public let objects: any ObjectStore
    public let manifests: any ManifestStore
    public let worker: String
    let settings: PipelineConfiguration.Ingest
    let staging: StagingArea
    /// The work cycle: the dataset's one open draft, the queue, publishing.
    let stage: StageRun
    var drafts: SharedDraft { stage.drafts }
    let ingester: ObjectIngester
    let logger: Logger
    /// The annotation index, the listing it was read from (keys and ETags), when that listing
    /// was last found current (nil: invalidated, list again), and how many invalidations came.
    private struct AnnotationCache {
        var entry: (signature: [String], index: AnnotationIndex, checked: ContinuousClock.Instant?)?
        var invalidations = 0
    }
    private let annotationCache = Mutex(AnnotationCache())

    public init(
        configuration: PipelineConfiguration, objects: any ObjectStore, manifests: any ManifestStore, logger: Logger,
        worker: String = Ingestor.defaultWorkerName
    ) {
        self.configuration = configuration
        self.objects = objects
        self.manifests = manifests
        self.worker = worker
        self.settings = configuration.ingest
        self.staging = StagingArea(configuration.staging, logger: logger)
        self.logger = logger
        let (hash, text) = Self.configIdentity(configuration)
        self.stage = StageRun(
            StageRun.Identity(
                stage: "ingest", dataset: settings.dataset, scope: settings.dataset,
                queue: IngestWork.queue(settings.dataset), seedFromLastPublished: true, configHash: hash, config: text),
            configuration: configuration, objects: objects, manifests: manifests, batchSize: settings.batchSize,
            lease: settings.lease, logger: logger, worker: worker)
        self.ingester = ObjectIngester(objects: objects, settings: settings, logger: logger)
    }

    /// Prunes finished work items past `manifest.work_retention_hours` (at most hourly).
    public func pruneFinishedWork() async {
        await stage.pruneFinishedWork()
    }

    public static var defaultWorkerName: String {
        WorkerIdentity.current.description
    }

    var queue: String { stage.queue }

    /// What decides the content of an ingest version: where it stores things, what it
    /// accepts and how it augments. As canonical JSON and its SHA-256.
    static func configIdentity(_ configuration: PipelineConfiguration) -> (hash: String, text: String) {
        let ingest = configuration.ingest
        var fields: [String: String] = [
            "curated_prefix": ingest.curatedPrefix, "max_pixels": "\(ingest.maxPixels)",
            "raw_prefix": ingest.rawPrefix, "augment_copies": "0",
        ]
        if let plan = ingest.augmentation {
            fields["augment_copies"] = "\(plan.copies)"
            fields["augment_seed"] = "\(plan.seed)"
            fields["augment_flips"] = "\(plan.flipHorizontal),\(plan.flipVertical)"
            fields["augment_rotate"] = "\(plan.rotate)"
            fields["augment_tone"] = "\(plan.brightnessJitter),\(plan.contrastJitter)"
            fields["augment_crop_min_area"] = plan.cropMinimumArea.map { "\($0)" } ?? "none"
        }
        let text = String(decoding: (try? JSONEncoder.canonical.encode(fields)) ?? Data(), as: UTF8.self)
        return (Hex.encode(SHA256.hash(Data(text.utf8))), text)
    }

    // MARK: - Finding work

    /// Lists the raw prefix and queues every object not queued before with its current ETag.
    public func poll() async throws -> PollReport {
        var report = PollReport()
        var batch: [(key: String, payload: String)] = []
        /// Queues the batch; returns how many of its keys were new.
        func flush() async throws -> Int {
            guard !batch.isEmpty else { return 0 }
            defer { batch.removeAll(keepingCapacity: true) }
            return try await manifests.enqueue(queue: queue, items: batch)
        }
        var listed = Set<String>()
        for try await object in objects.listAll(prefix: settings.rawPrefix) {
            guard isImageCandidate(object.key) else { continue }
            report.listed += 1
            listed.insert(object.key)
            let work = IngestWork(key: object.key, etag: object.etag, size: object.size, source: .poll)
            batch.append((work.queueKey, work.payload))
            if batch.count >= 1000 { report.queued += try await flush() }
        }
        report.queued += try await flush()
        // The whole prefix was listed: an object of the latest version that is not there any
        // more was deleted. The version's id marks the removal, so it is queued once per version.
        if let published = try await drafts.lastPublished() {
            var after: String?
            repeat {
                let page = try await manifests.items(of: published, after: after, limit: 1000)
                for item in page
                where item.augmentedCopy == nil && isImageCandidate(item.sourceKey)
                    && !listed.contains(item.sourceKey)
                {
                    let work = IngestWork.removal(key: item.sourceKey, marker: "poll-" + published, source: .poll)
                    batch.append((work.queueKey, work.payload))
                }
                if batch.count >= 1000 { report.removals += try await flush() }
                after = page.count == 1000 ? page.last?.sourceKey : nil
            } while after != nil
            report.removals += try await flush()
        }
        Counter(label: "pipeline_ingest_objects_seen_total", dimensions: [("source", "poll")]).increment(
            by: report.listed)
        try await manifests.setCheckpoint(
            stage: "ingest", name: "poll/" + settings.dataset,
            value: "\(Int(Date().timeIntervalSince1970)) listed=\(report.listed) queued=\(report.queued)")
        logger.info(
            "listed raw objects",
            metadata: [
                "prefix": "\(settings.rawPrefix)", "listed": "\(report.listed)",
                "queued": "\(report.queued)", "removals": "\(report.removals)",
            ])
        return report
    }

    /// Queues the created and removed objects of bucket notifications; returns how many were new.
    /// Events for other buckets or prefixes are counted and left alone.
    public func enqueue(_ events: [ObjectEvent]) async throws -> Int {
        var items: [(key: String, payload: String)] = []
        for event in events {
            if case .removed = event.kind {
                guard let key = storeKey(of: event), isImageCandidate(key) else {
                    if let key = storeKey(of: event), key.hasPrefix(settings.annotationsPrefix) {
                        invalidateAnnotations()
                    }
                    Counter(label: "pipeline_ingest_events_total", dimensions: [("outcome", "ignored")]).increment()
                    continue
                }
                // The sequencer orders a key's events; without one, each delivery counts.
                let work = IngestWork.removal(
                    key: key, marker: event.sequencer ?? UUID().uuidString.lowercased(), source: .event)
                items.append((work.queueKey, work.payload))
                continue
            }
            guard case .created = event.kind else {
                Counter(label: "pipeline_ingest_events_total", dimensions: [("outcome", "ignored")]).increment()
                logger.info("event ignored", metadata: ["event": "\(event.name)", "key": "\(event.key)"])
                continue
            }
            guard let key = storeKey(of: event), isImageCandidate(key) else {
                if let key = storeKey(of: event), key.hasPrefix(settings.annotationsPrefix) {
                    invalidateAnnotations()
                }
                Counter(label: "pipeline_ingest_events_total", dimensions: [("outcome", "ignored")]).increment()
                continue
            }
            var etag = event.etag ?? ""
            var size = event.size
            if etag.isEmpty {
                let info = try await objects.head(key)
                etag = info.etag
                size = info.size
            }
            let work = IngestWork(key: key, etag: etag, size: size, source: .event)
            items.append((work.queueKey, work.payload))
        }
        guard !items.isEmpty else { return 0 }
        let queued = try await manifests.enqueue(queue: queue, items: items)
        Counter(label: "pipeline_ingest_objects_seen_total", dimensions: [("source", "event")]).increment(
            by: items.count)
        Counter(label: "pipeline_ingest_events_total", dimensions: [("outcome", "queued")]).increment(by: queued)
        Counter(label: "pipeline_ingest_events_total", dimensions: [("outcome", "duplicate")]).increment(
            by: items.count - queued)
        return queued
    }

    /// The event's key relative to the store's root, if it is in this store at all.
    func storeKey(of event: ObjectEvent) -> String? {
        switch objects.location {
        case .s3(let bucket, let prefix):
            guard event.bucket == bucket, event.key.hasPrefix(prefix) else { return nil }
            return String(event.key.dropFirst(prefix.count))
        case .file:
            return event.key
        }
    }

    func isImageCandidate(_ key: String) -> Bool {
        key.hasPrefix(settings.rawPrefix) && !key.hasSuffix("/")
            && !(settings.annotationsPrefix.isEmpty == false && key.hasPrefix(settings.annotationsPrefix))
    }

    // MARK: - Annotations

    /// The annotation files under the annotations prefix, read again only when one changed.
    func annotationIndex() async throws -> AnnotationIndex {
        // Listing the annotations prefix for every batch would cost a LIST per batch: check it
        // at most every 10 s (a notification about an annotation file invalidates at once).
        let (cached, invalidations) = annotationCache.withLock { ($0.entry, $0.invalidations) }
        if let cached, let checked = cached.checked, ContinuousClock.now - checked < .seconds(10) {
            return cached.index
        }
        var files: [ObjectInfo] = []
        do {
            for try await object in objects.listAll(prefix: settings.annotationsPrefix)
            where object.key.lowercased().hasSuffix(".json") {
                files.append(object)
            }
        } catch where Outage.isOutage(error) {
            // The store is unreachable: the images cannot be staged either, and their attempts
            // are given back; keep the index it had rather than fail the whole batch (not one
            // invalidated: that must be listed again).
            guard let cached, cached.checked != nil else { throw error }
            logger.warning("annotation files not listed; keeping the last index", metadata: ["error": "\(error)"])
            return cached.index
        }
        let signature = files.map { "\($0.key)@\($0.etag)" }
        // Current from now on, unless a notification invalidated the index while this listed:
        // the listing may predate the change, so the next use lists again.
        func freshness(_ cache: AnnotationCache) -> ContinuousClock.Instant? {
            cache.invalidations == invalidations ? .now : nil
        }
        // The same files (keys and ETags) as the index was read from: no need to parse them again.
        if let cached, cached.signature == signature {
            annotationCache.withLock {
                let now = freshness($0)
                $0.entry?.checked = now
            }
            return cached.index
        }
        let index = try await staging.withRun(
            stage: "ingest", runId: "annotations-\(UUID().uuidString.lowercased())"
        ) { run in
            var index = AnnotationIndex()
            for file in files {
                let staged = try await run.stage(file.key, from: objects)
                do {
                    try index.add(json: try Data(contentsOf: URL(fileURLWithPath: staged.path)), from: file.key)
                } catch {
                    Counter(label: "pipeline_ingest_annotation_files_rejected_total").increment()
                    logger.error("annotation file skipped", metadata: ["key": "\(file.key)", "error": "\(error)"])
                }
            }
            return index
        }
        for source in index.sources {
            logger.info(
                "annotations loaded",
                metadata: ["key": "\(source.key)", "format": "\(source.format)", "images": "\(source.images)"])
        }
        annotationCache.withLock {
            let now = freshness($0)
            $0.entry = (signature, index, now)
        }
        return index
    }

    /// Re-annotates, in the next version, the items whose annotations the current annotation
    /// files change (a new, changed or deleted file under the annotations prefix), without
    /// staging any image: an item's annotations are looked up by its key again, and its augmented
    /// copies' boxes moved by their transforms. Returns how many images changed.
    public func reannotateIfChanged() async throws -> Int {
        func current() async throws -> (AnnotationIndex, String) {
            let index = try await annotationIndex()
            let signature = annotationCache.withLock { $0.entry?.signature } ?? []
            return (index, Hex.encode(SHA256.hash(Data(signature.joined(separator: "\n").utf8))))
        }
        var (index, digest) = try await current()
        let name = "annotations/" + settings.dataset
        let recorded = try await manifests.checkpoint(stage: "ingest", name: name)
        guard recorded != digest else { return 0 }
        // A difference seen through the cached index (up to 10 s old) is checked against a fresh
        // listing: a worker with a stale view must not take annotations away that another added.
        invalidateAnnotations()
        (index, digest) = try await current()
        guard recorded != digest else { return 0 }
        // The items that change, looked for in the open draft (or the latest version) first: a
        // draft is opened only when there is something to change (an unchanged draft would
        // publish a needless version).
        var changed = 0
        var target = try await drafts.lastPublished()
        if case .open(let id) = try await drafts.state().state { target = id }
        if let target,
            try await !reannotated(target, index: index).isEmpty
        {
            let draft = try await drafts.current()
            let updates = try await reannotated(draft, index: index)
            try await manifests.addItems(updates, to: draft)
            changed = updates.filter { $0.augmentedCopy == nil }.count
            logger.info(
                "re-annotated", metadata: ["images": "\(changed)", "items": "\(updates.count)", "draft": "\(draft)"])
        }
        _ = try await manifests.replaceCheckpoint(stage: "ingest", name: name, expected: recorded, value: digest)
        Counter(label: "pipeline_ingest_reannotated_total").increment(by: changed)
        return changed
    }

    /// The items of `version` whose annotations `index` changes, with their new annotations.
    private func reannotated(_ version: String, index: AnnotationIndex) async throws -> [DatasetItem] {
        var updates: [DatasetItem] = []
        // An image's copies sort right after it, so their new boxes are known.
        var copies: [String: [[ImageAnnotation]]] = [:]
        var after: String?
        repeat {
            let page = try await manifests.items(of: version, after: after, limit: 1000)
            for item in page where item.status == .ok {
                if let copy = item.augmentedCopy {
                    guard let moved = copies[copy.original], moved.indices.contains(copy.number - 1) else { continue }
                    let json = ObjectIngester.json(moved[copy.number - 1])
                    if json != item.annotations { updates.append(item.withAnnotations(json)) }
                    continue
                }
                let found = index.annotations(for: item.sourceKey, rawPrefix: settings.rawPrefix) ?? []
                let json = ObjectIngester.json(found)
                guard json != item.annotations else { continue }
                updates.append(item.withAnnotations(json))
                if let plan = settings.augmentation, let width = item.width, let height = item.height {
                    copies[item.sourceKey] = ObjectIngester.augmentedAnnotations(
                        found, plan: plan, sha256: item.sha256, width: width, height: height)
                }
            }
            after = page.count == 1000 ? page.last?.sourceKey : nil
        } while after != nil
        return updates
    }

    /// The annotation files are listed again at the next use; they are read again only if one of
    /// them changed (another key or ETag).
    func invalidateAnnotations() {
        annotationCache.withLock {
            $0.entry?.checked = nil
            $0.invalidations += 1
        }
    }

    // MARK: - Working

    /// Claims and ingests queued objects until none is left to claim.
    public func work(progress: ProgressLine? = nil) async throws -> WorkReport {
        var report = WorkReport()
        try await stage.drain(
            stagingBytes: { claims in
                // Room for the batch's objects and what is made of them.
                claims.reduce(UInt64(0)) { $0 + 2 * ((try? IngestWork.decode($1.payload).size ?? 0) ?? 0) }
            },
            transform: { claims, _, run in try await ingest(claims, run: run) },
            recorded: { batch in
                for case let outcome? in batch.done {
                    report.objects += 1
                    report.bytes += outcome.bytes
                    report.items += outcome.items.count
                    if let reason = outcome.rejection {
                        report.rejected += 1
                        Counter(label: "pipeline_ingest_objects_rejected_total", dimensions: [("reason", reason)])
                            .increment()
                    } else {
                        report.accepted += 1
                        Counter(label: "pipeline_ingest_objects_ingested_total").increment()
                        Counter(label: "pipeline_ingest_bytes_total").increment(by: Int(outcome.bytes))
                    }
                    if outcome.duplicate {
                        report.duplicates += 1
                        Counter(label: "pipeline_ingest_duplicates_total").increment()
                    }
                }
                report.failures += batch.failures
                report.removed += batch.removed
                Counter(label: "pipeline_ingest_objects_removed_total").increment(by: batch.removed)
                let (objects, rejected, remaining) = (report.objects, report.rejected, batch.remaining)
                progress?.show { seconds in
                    String(
                        format: "ingest: %d objects (%d rejected), %d left, %.1f images/s", objects, rejected,
                        remaining, Double(objects) / seconds)
                }
            })
        return report
    }

    /// One batch: each object ingested (its outcome the detail), each deletion checked.
    private func ingest(_ claims: [ClaimedWork], run: StagingRun) async throws
        -> [WorkOutcome<ObjectIngester.Outcome?>]
    {
        let works = claims.map { try? IngestWork.decode($0.payload) }
        let index = works.contains { $0?.isRemoval != true } ? try await annotationIndex() : AnnotationIndex()
        let ingester = self.ingester
        let logger = self.logger
        var outcomes = try await concurrentMap(count: claims.count, limit: settings.concurrency) {
            position -> WorkOutcome<ObjectIngester.Outcome?> in
            let claim = claims[position]
            let started = ContinuousClock.now
            do {
                let work = try IngestWork.decode(claim.payload)
                if work.isRemoval { return try await self.removal(of: work) }
                let outcome = try await ingester.ingest(work, annotations: index, run: run)
                Timer(label: "pipeline_ingest_object_duration_seconds").recordInterval(since: started)
                return .done(items: outcome.items, detail: outcome)
            } catch {
                logger.warning(
                    "ingest attempt failed; the object goes back to the queue",
                    metadata: ["work": "\(claim.key)", "attempt": "\(claim.attempt)", "error": "\(error)"])
                return Outage.isOutage(error) ? .outage("\(error)") : .failed("\(error)")
            }
        }
        // Per stored object: one of its keys in this batch counts as new when this batch
        // uploaded it, every other key is a duplicate (concurrent keys may each have looked).
        var uploadedHere = Set<String>()
        for case .done(_, let outcome?) in outcomes where !outcome.duplicate {
            if let key = outcome.items.first?.variants["original"]?.key { uploadedHere.insert(key) }
        }
        var counted = Set<String>()
        for position in outcomes.indices {
            guard case .done(let items, var outcome?) = outcomes[position], outcome.rejection == nil,
                let key = outcome.items.first?.variants["original"]?.key
            else { continue }
            outcome.duplicate = !(uploadedHere.contains(key) && counted.insert(key).inserted)
            outcomes[position] = .done(items: items, detail: outcome)
        }
        return outcomes
    }

    /// A deleted object: its items leave the draft (applied after the batch's items are
    /// recorded), unless the key holds an object again.
    private func removal(of work: IngestWork) async throws -> WorkOutcome<ObjectIngester.Outcome?> {
        do {
            _ = try await objects.head(work.key)
            // Uploaded again since it was deleted: its creation is queued on its own.
            logger.info("removal skipped: the key holds an object again", metadata: ["key": "\(work.key)"])
            return .done(items: [], detail: nil)
        } catch let error as ObjectStoreError where error.kind == .notFound {
            let reason =
                work.source == .event
                ? "deleted from the bucket (ObjectRemoved event)"
                : "deleted from the bucket (no longer listed under \(settings.rawPrefix))"
            return .removed(sourceKey: work.key, reason: reason)
        } catch {
            return .failed("checking that \(work.key) is gone failed: \(error)")
        }
    }

    // MARK: - Publishing

    /// Publishes the open draft when nothing is queued or being worked on: as rows in the
    /// manifest store and as manifest files under `<files prefix><dataset>/<version>/`.
    /// Returns nil when there was nothing to publish or another process is publishing.
    public func publishIfIdle() async throws -> DatasetVersion? {
        try await stage.publishIfIdle()
    }

    /// One pass: list, ingest everything new, publish.
    public func runOnce(progress: ProgressLine? = nil) async throws -> RunReport {
        let started = ContinuousClock.now
        // The annotation files are read while the raw prefix is listed (the first batch needs
        // them); a failure shows again, and is handled, where a batch asks for them.
        async let annotations: Void = { _ = try? await self.annotationIndex() }()
        let poll = try await poll()
        await annotations
        var work = try await work(progress: progress)
        progress?.finish()
        work.reannotated = try await reannotateIfChanged()
        let published = try await publishIfIdle()
        let dead = try await manifests.queueCounts(queue: queue)[.dead] ?? 0
        await pruneFinishedWork()
        return RunReport(
            poll: poll, work: work, published: published, dead: dead, seconds: (ContinuousClock.now - started).seconds)
    }

    /// The latest published version of the dataset, if any.
    public func latestVersion() async throws -> DatasetVersion? {
        try await stage.lastPublished()
    }
}

