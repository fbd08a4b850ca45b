import Foundation
import TestSupport
import Testing

@testable import PipelineCommon

/// Where the file store keeps an object's metadata: on the object's own file (an extended
/// attribute), read back from sidecars written by older stores, rebuilt after a hand edit.
@Suite("File store metadata: on the object's file, sidecars still read, hand edits rehashed")
struct FileObjectStoreMetadataTests {
    @Test func aPutLeavesOneFileAndItsMetadataTravelsWithIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try FileObjectStore(root: dir.path + "/store")
        let bytes = Data("abc".utf8)
        let put = try await store.put("a/b.jpg", data: bytes, contentType: "image/jpeg")
        #expect(put.sha256 == Hex.encode(SHA256.hash(bytes)))
        let files = try FileManager.default.subpathsOfDirectory(atPath: dir.path + "/store")
        #expect(files.sorted() == ["a", "a/b.jpg"], "no sidecar, no temporary file left: \(files)")
        let head = try await store.head("a/b.jpg")
        #expect(head.contentType == "image/jpeg" && head.sha256 == put.sha256 && head.etag == put.etag)
        // Another store over the same directory reads it from the file.
        let again = try FileObjectStore(root: dir.path + "/store")
        #expect(try await again.head("a/b.jpg").contentType == "image/jpeg")
    }

    @Test func aSidecarFromAnOlderStoreIsReadAndAHandEditIsRehashed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/store"
        let store = try FileObjectStore(root: root)
        // An object as stores before this one wrote it: data file plus JSON sidecar.
        try FileManager.default.createDirectory(atPath: root + "/k", withIntermediateDirectories: true)
        let bytes = Data("old bytes".utf8)
        try bytes.write(to: URL(fileURLWithPath: root + "/k/x.png"))
        var info = stat()
        stat(root + "/k/x.png", &info)
        let sidecar = FileObjectStore.Metadata(
            size: UInt64(bytes.count),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            etag: "etag-recorded-by-the-sidecar", sha256: Hex.encode(SHA256.hash(bytes)), contentType: "image/png")
        try FileManager.default.createDirectory(
            atPath: root + "/.pipeline-meta/k", withIntermediateDirectories: true)
        try JSONEncoder().encode(sidecar).write(to: URL(fileURLWithPath: store.metadataPath("k/x.png")))
        let head = try await store.head("k/x.png")
        #expect(head.etag == "etag-recorded-by-the-sidecar" && head.contentType == "image/png")

        // Changed by hand (new size and time): hashed again, not taken from the stale record.
        let edited = Data("new bytes, longer".utf8)
        try edited.write(to: URL(fileURLWithPath: root + "/k/x.png"))
        let rehashed = try await store.head("k/x.png")
        #expect(rehashed.size == UInt64(edited.count))
        #expect(rehashed.sha256 == Hex.encode(SHA256.hash(edited)))
        #expect(rehashed.etag == Hex.encode(MD5.hash(edited)))

        // Overwritten through the store: the object's own record wins and the sidecar goes.
        _ = try await store.put("k/x.png", data: bytes, contentType: "image/png")
        #expect(!FileManager.default.fileExists(atPath: store.metadataPath("k/x.png")))
        #expect(try await store.head("k/x.png").sha256 == Hex.encode(SHA256.hash(bytes)))
    }
}
