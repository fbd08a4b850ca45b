import Foundation
import Logging
import Metrics
import PipelineCommon

/// Ingests one object: stage it, validate it, store it once under its content hash, attach
/// its annotations, make its augmented copies. Every object ends as items, accepted or
/// rejected with a reason; only failures of the store or the network throw (and are retried).
struct ObjectIngester: Sendable {
    /// What became of one object.
    struct Outcome: Sendable {
        var items: [DatasetItem]
        var bytes: UInt64
        /// The short reason when the object was rejected (for the metric's label).
        var rejection: String?
        /// Whether the same bytes were stored already (under another key, or before).
        var duplicate: Bool
    }

    let objects: any ObjectStore
    let settings: PipelineConfiguration.Ingest
    let inspector: ImageInspector
    let augmenter = ImageAugmenter()
    let logger: Logger

    init(objects: any ObjectStore, settings: PipelineConfiguration.Ingest, logger: Logger) {
        self.objects = objects
        self.settings = settings
        self.inspector = ImageInspector(pixelLimit: settings.maxPixels)
        self.logger = logger
    }

    func ingest(_ work: IngestWork, annotations: AnnotationIndex, run: StagingRun) async throws -> Outcome {
        var phases = PhaseTimes(stage: "ingest")
        defer { phases.record(logger, key: work.key) }
        // In memory unless augmented copies are wanted (the augmenter reads a file).
        let staged: StagedImage
        do {
            staged = try await run.stageImage(
                work.key, from: objects, size: work.size, expectedSHA256: nil,
                inMemory: settings.augmentation == nil)
            phases.lap("stage")
        } catch let error as StagingError where error.kind == .unsafeKey {
            return rejected(work, short: "unsafe key", reason: "unsafe key: \(error.message)")
        } catch let error as ObjectStoreError where error.kind == .invalidKey {
            return rejected(work, short: "unsafe key", reason: "unsafe key: \(error.message)")
        } catch let error as ObjectStoreError where error.kind == .notFound {
            // Deleted (or replaced) since it was queued; a replacement has its own ETag and entry.
            return rejected(work, short: "gone", reason: "the object no longer exists under this key")
        }
        defer { staged.discard() }

        let info: ImageInfo
        let validation = await inspector.validate(staged.input)
        phases.lap("validate")
        switch validation {
        case .failure(let rejection):
            return rejected(
                work, sha256: staged.sha256, size: staged.size, short: rejection.reason, reason: rejection.description)
        case .success(let found):
            info = found
        }
        let width = info.displayWidth
        let height = info.displayHeight
        let original = try await store(staged.input, sha256: staged.sha256, format: info.format)
        phases.lap("store")
        let found = annotations.annotations(for: work.key, rawPrefix: settings.rawPrefix) ?? []
        var items = [
            DatasetItem(
                sourceKey: work.key, sha256: staged.sha256, size: staged.size, width: width, height: height,
                format: info.format, annotations: Self.json(found),
                variants: ["original": .init(key: original.key, size: staged.size, width: width, height: height)])
        ]
        if let plan = settings.augmentation, case .file(let input) = staged.input {
            for (copy, steps) in plan.transforms(contentHash: staged.sha256, width: width, height: height).enumerated()
            {
                items.append(
                    try await augment(
                        work.key, copy: copy + 1, steps: steps, input: input, info: info, annotations: found,
                        run: run))
            }
            phases.lap("augment")
        }
        return Outcome(items: items, bytes: staged.size, rejection: nil, duplicate: original.duplicate)
    }

    /// One augmented copy: `<key>#aug<n>`, its own content-addressed object, its boxes moved.
    private func augment(
        _ key: String, copy: Int, steps: [Augmentation], input: String, info: ImageInfo,
        annotations: [ImageAnnotation], run: StagingRun
    ) async throws -> DatasetItem {
        let format = ["jpeg", "png", "webp"].contains(info.format) ? info.format : "png"
        let output = try run.path(
            for: "augmented/\(copy)/\(UUID().uuidString).\(Self.fileExtension(format))", in: .output)
        try FileManager.default.createDirectory(
            atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        defer { unlink(output) }
        try await augmenter.apply(steps, input: input, output: output)
        let digest = try await BlockingPools.files.runIfActive { Hex.encode(try SHA256.hash(fileAtPath: output)) }
        let size = try FileManager.default.attributesOfItem(atPath: output)[.size] as? UInt64 ?? 0
        let (moved, dimensions) = Self.move(
            annotations, by: steps, width: info.displayWidth, height: info.displayHeight)
        let stored = try await store(.file(output), sha256: digest, format: format)
        Counter(label: "pipeline_ingest_augmented_total").increment()
        return DatasetItem(
            sourceKey: DatasetItem.sourceKey(ofCopy: copy, of: key), sha256: digest, size: size, width: dimensions.width,
            height: dimensions.height, format: format, annotations: Self.json(moved),
            variants: [
                "original": .init(key: stored.key, size: size, width: dimensions.width, height: dimensions.height)
            ])
    }

    /// Stores the file under `<curated>/<sha[0:2]>/<sha>.<ext>` unless those bytes are there already.
    private func store(_ image: ImageInput, sha256: String, format: String) async throws -> (
        key: String, duplicate: Bool
    ) {
        let key = "\(settings.curatedPrefix)\(sha256.prefix(2))/\(sha256).\(Self.fileExtension(format))"
        switch image {
        case .file(let path):
            do {
                let existing = try await objects.head(key)
                if existing.sha256 == nil || existing.sha256 == sha256 { return (key, true) }
            } catch let error as ObjectStoreError where error.kind == .notFound {}
            _ = try await objects.put(key, fromFile: path, contentType: MediaType.forPath(key), sha256: sha256)
            return (key, false)
        case .memory(let bytes, _):
            // Looked up and stored in one hand-off to the store, unsynced: the stage run syncs the
            // batch's objects once before it records the batch.
            let stored = try await objects.putUnsynced([
                NewObject(key: key, data: bytes, contentType: MediaType.forPath(key))
            ])
            return (key, !stored[0].written)
        }
    }

    private func rejected(
        _ work: IngestWork, sha256: String = "", size: UInt64? = nil, short: String, reason: String
    ) -> Outcome {
        logger.notice(
            "rejected", metadata: ["key": "\(work.key)", "reason": "\(reason)"])
        return Outcome(
            items: [
                DatasetItem(
                    sourceKey: work.key, sha256: sha256, size: size ?? work.size ?? 0, status: .rejected,
                    reason: reason)
            ], bytes: size ?? 0, rejection: short, duplicate: false)
    }

    static func fileExtension(_ format: String) -> String {
        switch format {
        case "jpeg": "jpg"
        case "tiff": "tif"
        case "heif": "heic"
        case "": "bin"
        default: format
        }
    }

    /// The annotations of each augmented copy of an image (`<key>#aug1`, …): `annotations` moved
    /// by that copy's transforms, which follow from the image's bytes and the plan alone.
    static func augmentedAnnotations(
        _ annotations: [ImageAnnotation], plan: AugmentationPlan, sha256: String, width: Int, height: Int
    ) -> [[ImageAnnotation]] {
        plan.transforms(contentHash: sha256, width: width, height: height).map {
            move(annotations, by: $0, width: width, height: height).annotations
        }
    }

    /// Boxes moved by an augmented copy's transforms, and the copy's size.
    static func move(_ annotations: [ImageAnnotation], by steps: [Augmentation], width: Int, height: Int) -> (
        annotations: [ImageAnnotation], dimensions: (width: Int, height: Int)
    ) {
        var moved = annotations
        var dimensions = (width: width, height: height)
        for step in steps {
            moved = step.transform(moved, width: dimensions.width, height: dimensions.height)
            dimensions = step.outputSize(width: dimensions.width, height: dimensions.height)
        }
        return (moved, dimensions)
    }

    static func json(_ annotations: [ImageAnnotation]) -> String {
        (try? JSONEncoder.canonical.encode(annotations)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}
