import Foundation
import IngestStage
import Logging
import NormalizeStage
import PipelineCommon
import TestSupport
import StageCommand
import Testing

@Suite("Normalize on the embedded default: variants, boxes, statistics, re-runs, configuration errors")
struct NormalizeRunTests {
    static let yaml = """
        normalize:
          variants:
            - {name: train, width: 32, height: 32, fit: pad, format: png}
            - {name: preview, size: 100, fit: contain, format: webp, quality: 80}
            - {name: square, size: 50, fit: cover, format: jpeg}
        """

    @Test func anIngestVersionBecomesANormalizeVersionOnceAndOnlyOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let configFile = try dir.write("pipeline.yaml", Self.yaml)
        let environment = [
            "PIPELINE_OBJECT_STORE_URL": "file://\(dir.path)/objects",
            "PIPELINE_MANIFEST_URL": "sqlite://\(dir.path)/manifest.db",
            "PIPELINE_STAGING_ROOT": dir.path + "/staging", "PIPELINE_STAGING_RESERVE_MIB": "0", "HOME": dir.path,
        ]
        let configuration = try PipelineConfiguration.load(file: configFile, environment: environment)
        let logger = Logger(label: "normalize-test")
        let objects = try FileObjectStore(root: dir.path + "/objects")
        let manifests = try await ManifestStoreFactory.openMigrated(configuration)
        for (index, size) in [(200, 100), (100, 200), (64, 64)].enumerated() {
            let path = try TestImages.photo(dir, "p\(index).jpg", width: size.0, height: size.1, seed: index)
            _ = try await objects.put("raw/p\(index).jpg", fromFile: path, contentType: "image/jpeg", sha256: nil)
        }
        _ = try await objects.put("raw/broken.jpg", data: Data("nope".utf8), contentType: "image/jpeg")
        let coco = AnnotationConverter.coco(images: [
            (
                "p0.jpg", 200, 100,
                [ImageAnnotation(label: "thing", box: BoundingBox(x: 20, y: 10, width: 100, height: 50))]
            )
        ])
        _ = try await objects.put("annotations/c.json", data: try JSONEncoder().encode(coco), contentType: nil)
        let ingestor = Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger)
        let input = try #require(try await ingestor.runOnce().published)

        let normalizer = Normalizer(
            configuration: configuration, objects: objects, manifests: manifests, resizer: VipsResizer(),
            logger: logger)
        let report = try await normalizer.run(input: input)
        let version = try #require(report.version)
        #expect(!report.reused && report.images == 3 && report.variantsWritten == 9)
        #expect(version.parents == [input.id] && version.stage == "normalize")
        let items = try await manifests.items(of: version.id, after: nil, limit: 100)
        #expect(items.map(\.sourceKey) == ["raw/p0.jpg", "raw/p1.jpg", "raw/p2.jpg"], "rejected images do not go on")
        let p0 = items[0]
        #expect(Set(p0.variants.keys) == ["train", "preview", "square"])
        let train = try #require(p0.variants["train"])
        #expect(train.key == "variants/images/train/\(p0.sha256).png")
        #expect(train.width == 32 && train.height == 32)
        // 200×100 → 32×16 centred at y = 8; the box (20,10,100,50) scales by 0.16.
        let moved = try #require(train.annotations?.first?.box)
        #expect(train.annotations?.map(\.label) == ["thing"])
        for (got, want) in zip([moved.x, moved.y, moved.width, moved.height], [3.2, 9.6, 16, 8]) {
            #expect(abs(got - want) < 1e-9, "\(moved)")
        }
        #expect(p0.variants["preview"]?.width == 100 && p0.variants["preview"]?.height == 50)
        #expect(train.statistics?.pixels == 1024)
        #expect(p0.variants["preview"]?.statistics == nil)
        for item in items {
            for variant in item.variants.values { #expect(try await objects.head(variant.key).size == variant.size) }
        }
        // The manifest carries the training variant's channel statistics.
        let summary = try await ManifestReader.load(
            manifestKey: "manifests/images/\(version.id)/manifest.json", from: objects, workDirectory: dir.path)
        let statistics = try #require(summary.summary.channelStatistics?["train"])
        #expect(statistics.images == 3 && statistics.pixels == 3 * 1024 && statistics.mean.count == 3)

        // Again: nothing is written and the same version comes back.
        let again = try await normalizer.run(input: input)
        #expect(again.reused && again.version?.id == version.id && again.variantsWritten == 0)
    }

    /// Normalize learns where ingest found the images from the ingest version, not from its
    /// own configuration: `{path}` is the key below the raw prefix that version recorded.
    @Test func thePathBelowTheRawPrefixComesFromTheInputVersion() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let environment = [
            "PIPELINE_OBJECT_STORE_URL": "file://\(dir.path)/objects",
            "PIPELINE_MANIFEST_URL": "sqlite://\(dir.path)/manifest.db",
            "PIPELINE_STAGING_ROOT": dir.path + "/staging", "PIPELINE_STAGING_RESERVE_MIB": "0", "HOME": dir.path,
            "PIPELINE_NORMALIZE_VARIANTS": "train:16x16:pad:png:90",
            "PIPELINE_NORMALIZE_KEY_TEMPLATE": "{dataset}/{variant}/{path}.{ext}",
        ]
        let ingestConfiguration = try PipelineConfiguration.load(environment: environment)
        let logger = Logger(label: "normalize-test")
        let objects = try FileObjectStore(root: dir.path + "/objects")
        let manifests = try await ManifestStoreFactory.openMigrated(ingestConfiguration)
        let path = try TestImages.photo(dir, "cat.jpg", width: 40, height: 30, seed: 1)
        _ = try await objects.put("raw/pets/cat.jpg", fromFile: path, contentType: "image/jpeg", sha256: nil)
        let input = try #require(
            try await Ingestor(
                configuration: ingestConfiguration, objects: objects, manifests: manifests, logger: logger
            ).runOnce().published)
        #expect(input.recordedSetting("raw_prefix") == "raw/")

        // This normalizer's own configuration names another raw prefix: it is not what counts.
        var other = environment
        other["PIPELINE_RAW_PREFIX"] = "elsewhere/"
        let normalizer = Normalizer(
            configuration: try PipelineConfiguration.load(environment: other), objects: objects, manifests: manifests,
            resizer: VipsResizer(), logger: logger)
        let version = try #require(try await normalizer.run(input: input).version)
        let item = try #require(try await manifests.items(of: version.id, after: nil, limit: 10).first)
        #expect(item.variants["train"]?.key == "variants/images/train/pets/cat.png")
    }

    @Test func configurationErrorsNameTheirKey() {
        for (yaml, key, words) in [
            ("normalize:\n  variants:\n    - {name: a, size: 64, fit: stretch}\n", "normalize.variants", "fit"),
            ("normalize:\n  variants:\n    - {name: a, size: 0}\n", "normalize.variants", "size"),
            ("normalize:\n  key_template: \"{variant}/{nope}.{ext}\"\n", "normalize.key_template", "{nope}"),
            ("normalize:\n  key_template: \"{variant}.{ext}\"\n", "normalize.key_template", "overwrite"),
            ("normalize:\n  train_variant: missing\n", "normalize.train_variant", "one of the variants"),
        ] {
            do {
                let dir = try TemporaryDirectory()
                defer { dir.remove() }
                _ = try PipelineConfiguration.load(
                    file: try dir.write("p.yaml", yaml), environment: ["HOME": dir.path])
                Issue.record("accepted: \(yaml)")
            } catch {
                let text = "\(error)"
                #expect(text.contains(key) && text.contains(words), "\(text)")
            }
        }
    }

    @Test func theGPUResizerSaysItIsUnavailable() {
        #expect(throws: ResizeError.self) { try Normalizer.resizer(named: "gpu", threads: 1) }
        #expect(GPUResizer().unavailableReason?.contains("--resizer cpu") == true)
    }
}
