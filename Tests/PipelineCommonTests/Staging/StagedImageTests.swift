import CVips
import Foundation
import Logging
import TestSupport
import Testing

@testable import PipelineCommon

/// Images staged in memory are verified as staged files are, and still become files where
/// they must: past the memory limit, when asked, or for a format libvips reads from files only.
@Suite("Staged images: verified in memory, files where they must be")
struct StagedImageTests {
    @Test func anImageIsStagedInMemoryVerifiedAndRendered() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try FileObjectStore(root: dir.path + "/store")
        let photo = try TestImages.photo(dir, "photo.jpg", width: 64, height: 48)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: photo))
        _ = try await store.put("raw/photo.jpg", data: bytes, contentType: "image/jpeg")
        let run = try StagingArea(
            root: dir.path + "/nvme", reserveBytes: 0, keepOnFailure: false, logger: Logger(label: "staged-image-tests")
        ).makeRun(stage: "test", runId: "r1")
        let sha = Hex.encode(SHA256.hash(bytes))

        let staged = try await run.stageImage(
            "raw/photo.jpg", from: store, size: UInt64(bytes.count), expectedSHA256: sha)
        guard case .memory(let held, let spill) = staged.input else {
            Issue.record("a small image was staged to a file")
            return
        }
        #expect(held == bytes && staged.sha256 == sha && staged.size == UInt64(bytes.count))
        #expect(!FileManager.default.fileExists(atPath: spill), "nothing written for a JPEG")
        let info = try await ImageInspector().validate(staged.input).get()
        #expect(info.width == 64 && info.height == 48 && info.format == "jpeg")
        let rendered = try await VipsResizer().render(
            staged.input, variants: [.init(name: "v", width: 32, height: 32, fit: .contain, format: .png)],
            statistics: nil)
        #expect(rendered.variants["v"]?.width == 32 && rendered.variants["v"]?.height == 24)

        // Another SHA-256 than the recorded one: refused, as a staged file would be.
        await #expect(throws: StagingError.self) {
            try await run.stageImage(
                "raw/photo.jpg", from: store, size: UInt64(bytes.count),
                expectedSHA256: String(repeating: "0", count: 64))
        }

        // Unknown or past the limit (the listing was out of date), or asked for: a file.
        for (size, inMemory) in [(nil, true), (UInt64(StagingRun.memoryLimit) + 1, true), (UInt64(bytes.count), false)]
        {
            let file = try await run.stageImage(
                "raw/photo.jpg", from: store, size: size, expectedSHA256: sha, inMemory: inMemory)
            guard case .file(let path) = file.input else {
                Issue.record("size \(String(describing: size)), inMemory \(inMemory): not a file")
                continue
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
            file.discard()
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func aFormatLibvipsReadsFromFilesOnlyIsWrittenOutAndRemoved() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A VIPS-format image: libvips has no loader for it in memory.
        let path = dir.file("image.v")
        VipsRuntime.start()
        let grey = [UInt8](repeating: 90, count: 36)
        let image = try #require(grey.withUnsafeBytes { pl_vips_image_from_uchar($0.baseAddress, 36, 4, 3, 3) })
        #expect(pl_vips_write_stripped(image, path) == 0)
        pl_g_object_unref(image)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let store = try FileObjectStore(root: dir.path + "/store")
        for key in ["raw/image.v", "blocked/image.v"] {
            _ = try await store.put(key, data: bytes, contentType: "application/octet-stream")
        }
        let run = try StagingArea(
            root: dir.path + "/nvme", reserveBytes: 0, keepOnFailure: false, logger: Logger(label: "staged-image-tests")
        ).makeRun(stage: "test", runId: "r1")

        let staged = try await run.stageImage(
            "raw/image.v", from: store, size: UInt64(bytes.count), expectedSHA256: nil)
        guard case .file(let spilled) = staged.input else {
            Issue.record("a VIPS-format image was staged in memory")
            return
        }
        #expect(spilled == (try run.path(for: "raw/image.v")))
        let info = try await ImageInspector().validate(staged.input).get()
        #expect(info.width == 4 && info.height == 3)
        staged.discard()
        #expect(!FileManager.default.fileExists(atPath: spilled), "the written file goes with the staged image")

        // Where the file cannot be written (its folder is taken by a file; a full disk does the
        // same), staging fails with an I/O error naming the path, not an image rejection: ingest
        // puts the object back on its queue ("ingest attempt failed") instead of recording it as
        // a corrupt image, as it did while the write happened inside libvips' image source.
        let blocked = try run.path(for: "blocked/image.v")
        let folder = (blocked as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: (folder as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: folder, contents: Data("not a folder".utf8)))
        do {
            _ = try await run.stageImage("blocked/image.v", from: store, size: UInt64(bytes.count), expectedSHA256: nil)
            Issue.record("staged although its file could not be written")
        } catch let error as StagingError {
            #expect(error.kind == .io && error.message.contains(blocked), "\(error)")
        }
    }
}
