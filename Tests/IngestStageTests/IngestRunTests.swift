import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

@testable import IngestStage

@Suite("Ingest on the embedded default: validation, dedup, annotations, publishing, re-runs")
struct IngestRunTests {
    @Test func badInputIsRejectedWithItsReasonAndTheGoodImagesPublish() async throws {
        let ingest = try await EmbeddedIngest.make(environment: ["PIPELINE_MAX_PIXELS": "50000000"])
        defer { ingest.dir.remove() }
        let dir = ingest.dir
        let files: [(key: String, path: String)] = [
            ("raw/good.jpg", try TestImages.photo(dir, "good.jpg", width: 120, height: 80)),
            ("raw/good.png", try TestImages.photo(dir, "good.png", width: 50, height: 70, seed: 3)),
            ("raw/empty.jpg", try dir.write("empty.jpg", "")),
            ("raw/truncated.jpg", try TestImages.truncatedJPEG(dir, "truncated.jpg")),
            ("raw/corrupt.png", try TestImages.corruptPNG(dir, "corrupt.png")),
            ("raw/text.jpg", try dir.write("text.jpg", "not an image at all\n")),
            ("raw/bomb.png", try TestImages.bombPNG(dir, "bomb.png")),
            ("raw/cmyk.jpg", try TestImages.cmykJPEG(dir, "cmyk.jpg")),
            ("raw/deep.png", try TestImages.sixteenBitPNG(dir, "deep.png")),
            ("raw/rotated.jpg", try TestImages.exifRotatedJPEG(dir, "rotated.jpg", width: 60, height: 40)),
        ]
        for file in files { try await ingest.upload(file.path, as: file.key) }

        let report = try await ingest.ingestor.runOnce()
        #expect(report.poll.listed == files.count && report.poll.queued == files.count)
        #expect(report.work.objects == files.count && report.dead == 0)
        let version = try #require(report.published)
        #expect(version.itemCount == files.count, "every object is recorded, accepted or not")
        let items = try await ingest.items(version)
        let expected: [String: String] = [
            "raw/empty.jpg": "empty file", "raw/truncated.jpg": "corrupt or truncated",
            "raw/corrupt.png": "corrupt or truncated", "raw/text.jpg": "unsupported format",
            "raw/bomb.png": "50000×50000",
        ]
        for (key, reason) in expected {
            let item = try #require(items[key])
            #expect(item.status == .rejected, "\(key)")
            #expect(item.reason?.contains(reason) == true, "\(key): \(item.reason ?? "no reason")")
        }
        for key in ["raw/good.jpg", "raw/good.png", "raw/cmyk.jpg", "raw/deep.png", "raw/rotated.jpg"] {
            #expect(items[key]?.status == .ok, "\(key): \(items[key]?.reason ?? "")")
        }
        // EXIF orientation 6: stored 60×40, displayed (and recorded) 40×60.
        #expect(items["raw/rotated.jpg"]?.width == 40 && items["raw/rotated.jpg"]?.height == 60)
        #expect(items["raw/cmyk.jpg"]?.format == "jpeg")

        // Accepted originals are stored once under their content hash, byte for byte.
        let good = try #require(items["raw/good.jpg"])
        let curated = try #require(good.variants["original"])
        #expect(curated.key == "curated/\(good.sha256.prefix(2))/\(good.sha256).jpg")
        #expect(try await ingest.objects.head(curated.key).sha256 == good.sha256)
        // The manifest files are next to the data.
        let manifest = try await ingest.objects.head("manifests/images/\(version.id)/manifest.json")
        #expect(manifest.size > 0)
        #expect(try await ingest.objects.head("manifests/images/\(version.id)/manifest.jsonl").size > 0)
    }

    @Test func aSecondRunFindsNothingAndAChangedObjectIsPickedUp() async throws {
        let ingest = try await EmbeddedIngest.make()
        defer { ingest.dir.remove() }
        let dir = ingest.dir
        try await ingest.upload(try TestImages.photo(dir, "a.jpg"), as: "raw/a.jpg")
        try await ingest.upload(try TestImages.photo(dir, "b.png", seed: 1), as: "raw/b.png")
        // The same bytes under a second key: stored once, both keys recorded.
        try await ingest.upload(dir.file("a.jpg"), as: "raw/copy-of-a.jpg")
        let first = try await ingest.ingestor.runOnce()
        let v1 = try #require(first.published)
        #expect(v1.itemCount == 3)
        #expect(first.work.duplicates == 1)
        let items = try await ingest.items(v1)
        #expect(items["raw/a.jpg"]?.variants["original"]?.key == items["raw/copy-of-a.jpg"]?.variants["original"]?.key)
        var curated = 0
        for try await _ in ingest.objects.listAll(prefix: "curated/") { curated += 1 }
        #expect(curated == 2)

        let second = try await ingest.ingestor.runOnce()
        #expect(second.poll.queued == 0 && second.work.objects == 0)
        #expect(second.published == nil)
        #expect(try await ingest.ingestor.latestVersion()?.id == v1.id)

        // New bytes under an old key: a new ETag, so it is queued and replaces its item.
        try await ingest.upload(try TestImages.photo(dir, "a2.jpg", width: 30, height: 20, seed: 9), as: "raw/a.jpg")
        let third = try await ingest.ingestor.runOnce()
        #expect(third.poll.queued == 1 && third.work.objects == 1)
        let v2 = try #require(third.published)
        #expect(v2.id != v1.id && v2.parents == [v1.id])
        let changed = try await ingest.items(v2)
        #expect(changed.count == 3)
        #expect(changed["raw/a.jpg"]?.width == 30)
        #expect(changed["raw/b.png"] == items["raw/b.png"])
    }

    @Test func deletedObjectsLeaveTheNextVersionAndMayComeBack() async throws {
        let ingest = try await EmbeddedIngest.make(yaml: "augment:\n  copies: 1\n  flip_horizontal: true\n")
        defer { ingest.dir.remove() }
        let dir = ingest.dir
        try await ingest.upload(try TestImages.photo(dir, "a.jpg"), as: "raw/a.jpg")
        try await ingest.upload(dir.file("a.jpg"), as: "raw/copy-of-a.jpg")
        try await ingest.upload(try TestImages.photo(dir, "b.png", seed: 1), as: "raw/b.png")
        try await ingest.upload(try TestImages.photo(dir, "c.png", seed: 2), as: "raw/c.png")
        let v1 = try #require(try await ingest.ingestor.runOnce().published)
        let before = try await ingest.items(v1)
        #expect(before.keys.sorted() == [
            "raw/a.jpg", "raw/a.jpg#aug1", "raw/b.png", "raw/b.png#aug1", "raw/c.png", "raw/c.png#aug1",
            "raw/copy-of-a.jpg", "raw/copy-of-a.jpg#aug1",
        ])

        // Poll: a key that is no longer listed leaves the next version with its copies; the
        // curated original stays (raw/copy-of-a.jpg and v1 still refer to it).
        try await ingest.objects.delete("raw/a.jpg")
        let second = try await ingest.ingestor.runOnce()
        #expect(second.poll.removals == 1 && second.poll.queued == 0 && second.work.removed == 1)
        let v2 = try #require(second.published)
        #expect(v2.parents == [v1.id])
        let after = try await ingest.items(v2)
        #expect(after["raw/a.jpg"] == nil && after["raw/a.jpg#aug1"] == nil && after.count == 6)
        let curated = try #require(before["raw/a.jpg"]?.variants["original"]?.key)
        #expect(try await ingest.objects.head(curated).size > 0)
        #expect(after["raw/copy-of-a.jpg"]?.variants["original"]?.key == curated)
        let removed = try await ingest.manifests.removedItems(of: v2.id)
        #expect(removed == [
            RemovedItem(sourceKey: "raw/a.jpg", reason: "deleted from the bucket (no longer listed under raw/)")
        ])
        _ = try await ingest.objects.get("manifests/images/\(v2.id)/manifest.json", to: dir.file("manifest.json"))
        let summary = try JSONDecoder.snakeCase.decode(
            ManifestSummary.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("manifest.json"))))
        #expect(summary.removed == removed && summary.itemCount == 6)
        // Nothing changed since: no removal queued again, nothing published.
        let third = try await ingest.ingestor.runOnce()
        #expect(third.poll.removals == 0 && third.published == nil)

        // The same bytes uploaded again under the deleted key: ingested again (the deletion made
        // ingest forget that this key and ETag were done).
        try await ingest.upload(dir.file("a.jpg"), as: "raw/a.jpg")
        let back = try await ingest.ingestor.runOnce()
        #expect(back.poll.queued == 1)
        let v3 = try #require(back.published)
        #expect(try await ingest.items(v3).keys.sorted() == before.keys.sorted())
        #expect(try await ingest.manifests.removedItems(of: v3.id).isEmpty)

        // A bucket notification of a deletion does the same.
        let event = Data(
            #"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"any"},"object":{"key":"raw/c.png","sequencer":"0A1B"}}}]}"#
                .utf8)
        try await ingest.objects.delete("raw/c.png")
        let endpoint = NotificationEndpoint(
            ingestor: ingest.ingestor, http: HTTPClient(logger: Logger(label: "test")), logger: Logger(label: "test"))
        #expect(await endpoint.deliver(event, authorization: nil) == (200, "queued 1 of 1 events"))
        #expect(await endpoint.deliver(event, authorization: nil) == (200, "queued 0 of 1 events"), "delivered twice")
        let work = try await ingest.ingestor.work()
        #expect(work.removed == 1)
        let v4 = try #require(try await ingest.ingestor.publishIfIdle())
        #expect(try await ingest.items(v4)["raw/c.png"] == nil)
        #expect(try await ingest.manifests.removedItems(of: v4.id).map(\.reason) == [
            "deleted from the bucket (ObjectRemoved event)"
        ])
        // A deletion whose key holds an object again by the time it is worked on removes nothing.
        try await ingest.upload(dir.file("b.png"), as: "raw/b.png")
        let late = Data(
            #"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"any"},"object":{"key":"raw/b.png","sequencer":"0C"}}}]}"#
                .utf8)
        #expect(await endpoint.deliver(late, authorization: nil).status == 200)
        #expect(try await ingest.ingestor.work().removed == 0)
    }

    @Test func aChangedAnnotationFileReannotatesWithoutStagingImages() async throws {
        let ingest = try await EmbeddedIngest.make(yaml: "augment:\n  copies: 1\n  seed: 3\n  flip_horizontal: true\n")
        defer { ingest.dir.remove() }
        let dir = ingest.dir
        try await ingest.upload(try TestImages.photo(dir, "cat.jpg", width: 200, height: 100), as: "raw/cat.jpg")
        try await ingest.upload(try TestImages.photo(dir, "dog.jpg", width: 120, height: 80, seed: 4), as: "raw/dog.jpg")
        let box = BoundingBox(x: 20, y: 10, width: 60, height: 40)
        _ = try await ingest.objects.put(
            "annotations/instances.json", data: try cocoFile([("cat.jpg", 200, 100, box, "cat")]),
            contentType: "application/json")
        let v1 = try #require(try await ingest.ingestor.runOnce().published)
        let first = try await ingest.items(v1)
        #expect(try decodeAnnotations(first["raw/cat.jpg"]) == [ImageAnnotation(label: "cat", box: box)])
        #expect(try decodeAnnotations(first["raw/dog.jpg"]) == [])

        // The file changes: the cat's label and box, and a box for the dog. No object is queued or
        // staged again; the next version carries the new annotations, copies' boxes moved.
        let catBox = BoundingBox(x: 30, y: 20, width: 50, height: 30)
        let dogBox = BoundingBox(x: 5, y: 6, width: 40, height: 30)
        _ = try await ingest.objects.put(
            "annotations/instances.json",
            data: try cocoFile([("cat.jpg", 200, 100, catBox, "lynx"), ("dog.jpg", 120, 80, dogBox, "dog")]),
            contentType: "application/json")
        ingest.ingestor.invalidateAnnotations()
        let second = try await ingest.ingestor.runOnce()
        #expect(second.poll.queued == 0 && second.work.objects == 0, "no image staged again")
        #expect(second.work.reannotated == 2)
        let v2 = try #require(second.published)
        #expect(v2.parents == [v1.id])
        let items = try await ingest.items(v2)
        #expect(try decodeAnnotations(items["raw/cat.jpg"]) == [ImageAnnotation(label: "lynx", box: catBox)])
        #expect(try decodeAnnotations(items["raw/dog.jpg"]) == [ImageAnnotation(label: "dog", box: dogBox)])
        let plan = try #require(ingest.configuration.ingest.augmentation)
        for (key, annotation, width, height) in [
            ("raw/cat.jpg", ImageAnnotation(label: "lynx", box: catBox), 200, 100),
            ("raw/dog.jpg", ImageAnnotation(label: "dog", box: dogBox), 120, 80),
        ] {
            let original = try #require(items[key])
            let expected = ObjectIngester.augmentedAnnotations(
                [annotation], plan: plan, sha256: original.sha256, width: width, height: height)
            #expect(try decodeAnnotations(items[key + "#aug1"]) == expected[0], "\(key)'s copy")
            #expect(items[key + "#aug1"]?.sha256 == first[key + "#aug1"]?.sha256, "the copy's pixels are kept")
        }
        #expect(items["raw/cat.jpg"]?.variants == first["raw/cat.jpg"]?.variants)

        // Nothing changed since: nothing re-annotated, nothing published. A deleted file takes
        // its annotations away.
        ingest.ingestor.invalidateAnnotations()
        let third = try await ingest.ingestor.runOnce()
        #expect(third.work.reannotated == 0 && third.published == nil)
        try await ingest.objects.delete("annotations/instances.json")
        ingest.ingestor.invalidateAnnotations()
        let fourth = try await ingest.ingestor.runOnce()
        #expect(fourth.work.reannotated == 2)
        let v4 = try #require(fourth.published)
        #expect(try decodeAnnotations(try await ingest.items(v4)["raw/dog.jpg#aug1"]) == [])
    }

    @Test func cocoAnnotationsAttachByFileNameAndFollowAugmentation() async throws {
        let yaml = """
            augment:
              copies: 3
              seed: 7
              flip_horizontal: true
              rotate: true
              crop_min_area: 0.6
              brightness: 20
            """
        let ingest = try await EmbeddedIngest.make(yaml: yaml)
        defer { ingest.dir.remove() }
        let dir = ingest.dir
        try await ingest.upload(try TestImages.photo(dir, "cat.jpg", width: 200, height: 100), as: "raw/pets/cat.jpg")
        try await ingest.upload(
            try TestImages.photo(dir, "none.png", width: 40, height: 40, seed: 5), as: "raw/none.png")
        let box = BoundingBox(x: 20, y: 10, width: 60, height: 40)
        _ = try await ingest.objects.put(
            "annotations/instances.json", data: try cocoFile([("cat.jpg", 200, 100, box, "cat")]),
            contentType: "application/json")

        let version = try #require(try await ingest.ingestor.runOnce().published)
        let items = try await ingest.items(version)
        #expect(items.count == 8, "two images, three copies each")
        #expect(try decodeAnnotations(items["raw/pets/cat.jpg"]) == [ImageAnnotation(label: "cat", box: box)])
        #expect(try decodeAnnotations(items["raw/none.png"]) == [], "no annotation: an empty list, not a missing image")

        // Each copy's boxes are the original's moved by that copy's transforms.
        let original = try #require(items["raw/pets/cat.jpg"])
        let plan = try #require(ingest.configuration.ingest.augmentation)
        let transforms = plan.transforms(contentHash: original.sha256, width: 200, height: 100)
        for (index, steps) in transforms.enumerated() {
            let copy = try #require(items["raw/pets/cat.jpg#aug\(index + 1)"])
            var expected = [ImageAnnotation(label: "cat", box: box)]
            var size = (width: 200, height: 100)
            for step in steps {
                expected = step.transform(expected, width: size.width, height: size.height)
                size = step.outputSize(width: size.width, height: size.height)
            }
            #expect(try decodeAnnotations(copy) == expected, "copy \(index + 1): \(steps)")
            #expect(copy.width == size.width && copy.height == size.height)
            let stored = try #require(copy.variants["original"])
            let probe = try await ImageInspector().probe(try await stage(stored.key, from: ingest))
            #expect(probe.width == size.width && probe.height == size.height)
        }

        // The same seed on another machine (another store) gives the same bytes.
        let again = try await EmbeddedIngest.make(yaml: yaml)
        defer { again.dir.remove() }
        try await again.upload(dir.file("cat.jpg"), as: "raw/pets/cat.jpg")
        let repeated = try await again.items(try #require(try await again.ingestor.runOnce().published))
        for copy in 1...3 {
            #expect(repeated["raw/pets/cat.jpg#aug\(copy)"]?.sha256 == items["raw/pets/cat.jpg#aug\(copy)"]?.sha256)
        }
    }

    private func stage(_ key: String, from ingest: EmbeddedIngest) async throws -> String {
        let path = ingest.dir.file("probe-\(UUID().uuidString)")
        _ = try await ingest.objects.get(key, to: path)
        return path
    }
}
