import Foundation
import Logging
import Metrics
import PipelineCommon

/// Stage 2: makes every configured variant of every accepted image of an ingest version in
/// one decode, and publishes a `normalize` version whose items list their variants (with
/// boxes in each variant's pixels) and whose manifest carries the training variant's
/// per-channel mean and deviation.
///
/// Work is shared through a queue keyed by input version and configuration, so N workers on
/// N machines split it, a killed run resumes where it stopped, and a finished run is not
/// repeated: running again on the same input and configuration returns the same version.
public final class Normalizer: Sendable {
    public struct Report: Sendable {
        public var input: String
        public var version: DatasetVersion?
        /// True when this input and configuration were normalized before: nothing was written.
        public var reused: Bool
        public var images = 0
        public var variantsWritten = 0
        public var failures = 0
        public var dead = 0
        public var seconds: Double = 0
    }

    public let configuration: PipelineConfiguration
    public let objects: any ObjectStore
    public let manifests: any ManifestStore
    public let resizer: any Resizer
    public let worker: String
    let settings: PipelineConfiguration.Normalize
    let staging: StagingArea
    let logger: Logger

    public init(
        configuration: PipelineConfiguration, objects: any ObjectStore, manifests: any ManifestStore,
        resizer: any Resizer, logger: Logger, worker: String = WorkerIdentity.current.description
    ) {
        self.configuration = configuration
        self.objects = objects
        self.manifests = manifests
        self.resizer = resizer
        self.worker = worker
        self.settings = configuration.normalize
        self.staging = StagingArea(configuration.staging, logger: logger)
        self.logger = logger
    }

    /// The resizer `normalize.resizer` (or `--resizer`) names; throws when it cannot run here.
    public static func resizer(named name: String, threads: Int) throws(ResizeError) -> any Resizer {
        let resizer: any Resizer = name == "gpu" ? GPUResizer() : VipsResizer(threads: threads)
        if let reason = resizer.unavailableReason { throw ResizeError(message: "resizer \(name): \(reason)") }
        return resizer
    }

    /// What decides a normalize version's content besides its input.
    var identity: (hash: String, text: String) {
        let fields: [String: String] = [
            "variants": VariantSpec.compact(settings.variants), "key_template": settings.keyTemplate.text,
            "prefix": settings.prefix, "train_variant": settings.trainVariant, "resizer": resizer.name,
            "rendering": "\(resizer.revision)",
        ]
        let text = String(decoding: (try? JSONEncoder.canonical.encode(fields)) ?? Data(), as: UTF8.self)
        return (Hex.encode(SHA256.hash(Data(text.utf8))), text)
    }

    /// The work cycle of normalizing `input` with this configuration.
    func stageRun(for input: DatasetVersion) -> StageRun {
        let (hash, text) = identity
        return StageRun(
            StageRun.Identity(
                stage: "normalize", dataset: input.name, scope: scope(for: input.id), parents: [input.id],
                configHash: hash, config: text),
            configuration: configuration, objects: objects, manifests: manifests, batchSize: settings.batchSize,
            lease: settings.lease, logger: logger, worker: worker)
    }

    /// The work queue that normalizing `input` with this configuration uses (for monitoring).
    public func queue(for input: String) -> String {
        "normalize/" + scope(for: input)
    }

    /// What one normalize run is about: the input version and the configuration's hash.
    private func scope(for input: String) -> String {
        "\(input)/\(identity.hash.prefix(16))"
    }

    /// The newest published ingest version of `dataset`.
    public func latestIngestVersion(dataset: String) async throws -> DatasetVersion? {
        if let id = try await SharedDraft.lastPublished(in: manifests, stage: "ingest", scope: dataset) {
            return try await manifests.version(id)
        }
        return try await manifests.latestPublished(name: dataset, stage: "ingest")
    }

    /// Normalizes `input` (a published ingest version) completely, together with any other
    /// workers on the same input, and publishes the result.
    public func run(input: DatasetVersion, progress: ProgressLine? = nil) async throws -> Report {
        let started = ContinuousClock.now
        guard input.status == .published else {
            throw ManifestStoreError(.invalid, "dataset version \(input.id) is a draft; normalize published versions")
        }
        let stage = stageRun(for: input)
        var report = Report(input: input.id, version: nil, reused: false)
        if let version = try await stage.lastPublished(), version.status == .published {
            report.version = version
            report.reused = true
            return report
        }
        try await enqueue(input, into: stage)
        // Where ingest found the images, as the input version recorded it: {path} is the key below it.
        let rawPrefix = input.recordedSetting("raw_prefix") ?? ""
        try await stage.drain(
            stagingBytes: { claims in
                // Room for the originals (each once) and their variants.
                let originals = claims.compactMap { StageRun.item(of: $0)?.variants["original"] }
                let sizes = Dictionary(originals.map { ($0.key, $0.size) }, uniquingKeysWith: { a, _ in a })
                return 2 * sizes.values.reduce(0, +)
            },
            transform: { claims, _, run in
                try await normalize(claims, dataset: input.name, rawPrefix: rawPrefix, run: run)
            },
            recorded: { batch in
                let written = batch.done
                report.images += written.count
                report.variantsWritten += written.reduce(0, +)
                report.failures += batch.failures
                Counter(label: "pipeline_normalize_images_total").increment(by: written.count)
                let (done, remaining) = (report.images, batch.remaining)
                progress?.show { seconds in
                    String(
                        format: "normalize: %d images, %d left, %.1f images/s", done, remaining,
                        Double(done) / seconds)
                }
            })
        progress?.finish()
        report.dead = try await stage.counts()[.dead] ?? 0
        // Nil while other workers still hold claims: the last of them publishes.
        report.version = try await stage.publishIfIdle()
        if report.version == nil { report.version = try await stage.lastPublished() }
        await stage.pruneFinishedWork()
        report.seconds = (ContinuousClock.now - started).seconds
        return report
    }

    /// Queues every accepted item of the input; items queued before are left as they are.
    private func enqueue(_ input: DatasetVersion, into stage: StageRun) async throws {
        var after: String?
        repeat {
            let page = try await manifests.items(of: input.id, after: after, limit: 1000)
            try await stage.enqueue(page.filter { $0.status == .ok && $0.variants["original"] != nil })
            after = page.count == 1000 ? page.last?.sourceKey : nil
        } while after != nil
    }

    /// One batch: each distinct original staged once and every claim of it rendered and stored
    /// right after, so that staging one image overlaps rendering others.
    private func normalize(_ claims: [ClaimedWork], dataset: String, rawPrefix: String, run: StagingRun)
        async throws
        -> [WorkOutcome<Int>]
    {
        // Items sharing bytes share their original: stage each original once, for all of them.
        let items = claims.map(StageRun.item(of:))
        var claimsOf: [String: [Int]] = [:]
        var outcomes = [WorkOutcome<Int>?](repeating: nil, count: claims.count)
        for (index, item) in items.enumerated() {
            guard let item else {
                outcomes[index] = failed(claims[index], NormalizeFailure(message: "unreadable work payload"))
                continue
            }
            guard let original = item.variants["original"]?.key else {
                outcomes[index] = failed(
                    claims[index], NormalizeFailure(message: "\(item.sourceKey) has no stored original"))
                continue
            }
            claimsOf[original, default: []].append(index)
        }
        let originals = claimsOf.keys.sorted()
        let groups = originals.map { claimsOf[$0] ?? [] }
        let sizes = Dictionary(
            items.compactMap { $0?.variants["original"] }.map { ($0.key, $0.size) }, uniquingKeysWith: { a, _ in a })
        // In memory while the batch's originals fit the budget together, else as files.
        let inMemory = sizes.values.reduce(0, +) <= StagingRun.batchMemoryBudget
        let done = try await concurrentMap(count: originals.count, limit: settings.concurrency) {
            position -> [(Int, WorkOutcome<Int>)] in
            let original = originals[position]
            let members = groups[position]
            let staged: StagedImage
            do {
                var phases = PhaseTimes(stage: "normalize")
                staged = try await run.stageImage(
                    original, from: self.objects, size: sizes[original], expectedSHA256: items[members[0]]?.sha256,
                    inMemory: inMemory)
                phases.lap("stage")
                phases.record(self.logger, key: original)
            } catch {
                let failure = NormalizeFailure(
                    message: "staging \(original): \(error)", isOutage: Outage.isOutage(error))
                return members.map { ($0, self.failed(claims[$0], failure)) }
            }
            defer { staged.discard() }
            var results: [(Int, WorkOutcome<Int>)] = []
            for index in members {
                do {
                    let (normalized, written) = try await self.normalize(
                        items[index]!, staged: staged, dataset: dataset, rawPrefix: rawPrefix)
                    results.append((index, .done(items: [normalized], detail: written)))
                } catch {
                    results.append((index, self.failed(claims[index], error)))
                }
            }
            return results
        }
        for case (let index, let outcome) in done.joined() { outcomes[index] = outcome }
        return outcomes.map { $0! }
    }

    /// A claim that failed: logged, and back to the queue (without using an attempt in an outage).
    private func failed(_ claim: ClaimedWork, _ error: any Error) -> WorkOutcome<Int> {
        logger.warning(
            "normalize attempt failed; the image goes back to the queue",
            metadata: ["key": "\(claim.key)", "attempt": "\(claim.attempt)", "error": "\(error)"])
        return Outage.isOutage(error) ? .outage("\(error)") : .failed("\(error)")
    }

    /// One image: render every variant from its staged original in memory, store those not stored yet.
    private func normalize(_ item: DatasetItem, staged: StagedImage, dataset: String, rawPrefix: String) async throws
        -> (DatasetItem, Int)
    {
        let started = ContinuousClock.now
        let rendered = try await resizer.render(
            staged.input, variants: settings.variants, statistics: settings.trainVariant)
        var phases = PhaseTimes(stage: "normalize")
        phases.add("decode", rendered.timing.decode)
        phases.add("resample", rendered.timing.resample)
        phases.add("encode", rendered.timing.encode)
        phases.skip()
        let annotations =
            (try? JSONDecoder().decode([ImageAnnotation].self, from: Data(item.annotations.utf8))) ?? []
        // The variants go to the store together, in one hand-off, unsynced: the stage run syncs
        // the batch's objects once before it records the batch.
        var keys: [String: String] = [:]
        var outputs: [NewObject] = []
        for (index, spec) in settings.variants.enumerated() {
            guard let geometry = rendered.variants[spec.name] else { continue }
            let key =
                settings.prefix + settings.keyTemplate.render(keyValues(item, dataset, rawPrefix, spec, geometry))
            keys[spec.name] = key
            outputs.append(NewObject(key: key, data: rendered.encoded[index], contentType: MediaType.forPath(key)))
        }
        let written = try await outputs.isEmpty ? 0 : objects.putUnsynced(outputs).filter(\.written).count
        var variants: [String: DatasetItem.Variant] = [:]
        for (index, spec) in settings.variants.enumerated() {
            guard let geometry = rendered.variants[spec.name], let key = keys[spec.name] else { continue }
            variants[spec.name] = DatasetItem.Variant(
                key: key, size: UInt64(rendered.encoded[index].count), width: geometry.width,
                height: geometry.height,
                annotations: geometry.transform(
                    annotations, sourceWidth: rendered.sourceWidth, sourceHeight: rendered.sourceHeight),
                statistics: spec.name == settings.trainVariant ? rendered.statistics : nil)
        }
        phases.lap("store")
        phases.record(logger, key: item.sourceKey)
        Timer(label: "pipeline_normalize_image_duration_seconds").recordInterval(since: started)
        Counter(label: "pipeline_normalize_variants_written_total").increment(by: written)
        return (
            DatasetItem(
                sourceKey: item.sourceKey, sha256: item.sha256, size: item.size, width: rendered.sourceWidth,
                height: rendered.sourceHeight, format: item.format, annotations: item.annotations,
                variants: variants),
            written
        )
    }

    private func keyValues(
        _ item: DatasetItem, _ dataset: String, _ rawPrefix: String, _ spec: VariantSpec, _ geometry: VariantGeometry
    ) -> [String: String] {
        var path = item.sourceKey
        if let dot = path.lastIndex(of: "."), !path[dot...].contains("/") { path = String(path[..<dot]) }
        if !rawPrefix.isEmpty, path.hasPrefix(rawPrefix) { path.removeFirst(rawPrefix.count) }
        if path.contains("#") { path = path.replacingOccurrences(of: "#", with: "-") }
        let stem = path.split(separator: "/").last.map(String.init) ?? path
        return [
            "dataset": dataset, "variant": spec.name, "sha256": item.sha256, "stem": stem, "path": path,
            "ext": spec.format.fileExtension, "width": "\(geometry.width)", "height": "\(geometry.height)",
        ]
    }
}

struct NormalizeFailure: Error, Sendable, CustomStringConvertible, OutageCarrying {
    let message: String
    var isOutage = false
    var description: String { message }
}
