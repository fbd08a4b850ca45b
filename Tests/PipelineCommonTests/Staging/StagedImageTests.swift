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
        let spill = dir.file("in/spilled.v")
        let info = try await ImageInspector().validate(.memory(bytes, spill: spill)).get()
        #expect(info.width == 4 && info.height == 3)
        #expect(!FileManager.default.fileExists(atPath: spill), "the spilled file is removed with the image")
    }
}
