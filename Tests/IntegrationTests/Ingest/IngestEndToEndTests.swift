import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

@Suite(
    "pipeline-ingest poll --once against the signature-checking S3 server and PostgreSQL",
    .enabled(if: Services.available("PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL"), Services.skipReason))
struct IngestEndToEndTests {
    @Test func photographsBadInputAndAnnotationsThenNothingNewThenAChange() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        let run = "ingest-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path + "/staging")
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/\(run)/"
        environment["PIPELINE_DATASET"] = run
        environment["PIPELINE_MAX_PIXELS"] = "50000000"
        let (_, _, _, objects, manifests) = try await Services.connect(environment, label: "ingest-e2e")

        // Real photographs (scikit-image's samples), generated images, and every kind of bad input.
        let photographs = TestImages.samplePhotographs(settings: Services.settings)
        #expect(photographs.count >= 6, "sample photographs missing: run scripts/services.sh install")
        var uploads: [(key: String, path: String)] = photographs.map {
            ("raw/photos/" + ($0 as NSString).lastPathComponent, $0)
        }
        for index in 0..<6 {
            uploads.append(
                (
                    "raw/generated/g\(index).jpg",
                    try TestImages.photo(dir, "g\(index).jpg", width: 320 + index, height: 240, seed: index)
                ))
        }
        var bad: [(key: String, path: String, reason: String)] = [
            ("raw/bad/empty.jpg", try dir.write("empty.jpg", ""), "empty file"),
            ("raw/bad/truncated.jpg", try TestImages.truncatedJPEG(dir, "truncated.jpg"), "corrupt or truncated"),
            ("raw/bad/corrupt.png", try TestImages.corruptPNG(dir, "corrupt.png"), "corrupt or truncated"),
            ("raw/bad/text.jpg", try dir.write("text.jpg", "hello\n"), "unsupported format"),
            ("raw/bad/bomb.png", try TestImages.bombPNG(dir, "bomb.png"), "over the limit"),
            ("raw/bad/a/../escape.jpg", try TestImages.photo(dir, "escape.jpg"), "unsafe key"),
        ]
        let handled: [(key: String, path: String)] = [
            ("raw/odd/cmyk.jpg", try TestImages.cmykJPEG(dir, "cmyk.jpg")),
            ("raw/odd/deep.png", try TestImages.sixteenBitPNG(dir, "deep.png")),
            ("raw/odd/rotated.jpg", try TestImages.exifRotatedJPEG(dir, "rotated.jpg", width: 60, height: 40)),
        ]
        uploads += bad.map { ($0.key, $0.path) } + handled
        var refusedByServer: Set<String> = []
        for upload in uploads {
            do {
                _ = try await objects.put(
                    upload.key, fromFile: upload.path, contentType: MediaType.forPath(upload.key), sha256: nil)
            } catch let error as ObjectStoreError where error.code == "InvalidRequest" && upload.key.contains("/../") {
                // SeaweedFS refuses a `..` segment itself; S3 and RustFS store such a key, and
                // then ingest must reject it (the staging tests cover the check on its own).
                refusedByServer.insert(upload.key)
            }
        }
        uploads.removeAll { refusedByServer.contains($0.key) }
        bad.removeAll { refusedByServer.contains($0.key) }
        // A COCO file naming the astronaut photograph by file name.
        let astronaut = BoundingBox(x: 150, y: 20, width: 200, height: 240)
        let coco = AnnotationConverter.coco(images: [
            ("astronaut.png", 512, 512, [ImageAnnotation(label: "person", box: astronaut)])
        ])
        _ = try await objects.put(
            "annotations/coco.json", data: try JSONEncoder().encode(coco), contentType: "application/json")

        let first = try await Command.run("pipeline-ingest", ["poll", "--once"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("listed \(uploads.count), queued \(uploads.count)"), "\(first.stdout)")
        print("ingest of the test set: \(first.stdout)")
        let latest = try #require(
            try await manifests.checkpoint(stage: "ingest", name: "published/\(run)"), "\(first.stdout)")
        let version = try #require(try await manifests.version(latest))
        #expect(version.itemCount == uploads.count)
        let items = Dictionary(
            uniqueKeysWithValues: try await manifests.items(of: version.id, after: nil, limit: 1000).map {
                ($0.sourceKey, $0)
            })
        for entry in bad {
            #expect(items[entry.key]?.status == .rejected, "\(entry.key)")
            #expect(
                items[entry.key]?.reason?.contains(entry.reason) == true,
                "\(entry.key): \(items[entry.key]?.reason ?? "")")
        }
        for key in uploads.map(\.key) where !bad.contains(where: { $0.key == key }) {
            #expect(items[key]?.status == .ok, "\(key): \(items[key]?.reason ?? "")")
        }
        let person = try JSONDecoder().decode(
            [ImageAnnotation].self, from: Data((items["raw/photos/astronaut.png"]?.annotations ?? "").utf8))
        #expect(person == [ImageAnnotation(label: "person", box: astronaut)])
        #expect(items["raw/odd/rotated.jpg"]?.width == 40)
        // The published manifest lists every item, one JSON object a line.
        let manifest = dir.file("manifest.jsonl")
        _ = try await objects.get("manifests/\(run)/\(version.id)/manifest.jsonl", to: manifest)
        let lines = try String(contentsOfFile: manifest, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == uploads.count)

        let second = try await Command.run("pipeline-ingest", ["poll", "--once"], environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("queued 0; ingested 0 objects"), "\(second.stdout)")
        #expect(second.stdout.contains("nothing new to publish"))

        let changed = try TestImages.photo(dir, "changed.jpg", width: 77, height: 33, seed: 42)
        _ = try await objects.put("raw/generated/g0.jpg", fromFile: changed, contentType: "image/jpeg", sha256: nil)
        let third = try await Command.run("pipeline-ingest", ["poll", "--once"], environment: environment)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("queued 1; ingested 1 objects"), "\(third.stdout)")
        let next = try #require(try await manifests.checkpoint(stage: "ingest", name: "published/\(run)"))
        #expect(next != version.id)
        #expect(try await manifests.version(next)?.parents == [version.id])
        let updated = try await manifests.items(of: next, after: "raw/generated/g", limit: 1).first
        #expect(updated?.sourceKey == "raw/generated/g0.jpg" && updated?.width == 77)
    }
}
