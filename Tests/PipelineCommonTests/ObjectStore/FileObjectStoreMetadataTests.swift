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

    @Test func objectsPutTogetherLeaveNoTemporaryFileAndAnInvalidKeyStoresNoneOfThem() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try FileObjectStore(root: dir.path + "/store")
        let stored = try await store.put([
            NewObject(key: "a/1.jpg", data: Data("one".utf8), contentType: "image/jpeg"),
            NewObject(key: "b/2.jpg", data: Data("two".utf8), contentType: "image/jpeg"),
        ])
        #expect(stored.map(\.written) == [true, true])
        var files = try FileManager.default.subpathsOfDirectory(atPath: dir.path + "/store")
        #expect(files.sorted() == ["a", "a/1.jpg", "b", "b/2.jpg"], "\(files)")
        do {
            _ = try await store.put([
                NewObject(key: "c/3.jpg", data: Data("three".utf8), contentType: nil),
                NewObject(key: "../escape.jpg", data: Data("x".utf8), contentType: nil),
            ])
            Issue.record("a key outside the store was accepted")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .invalidKey && error.location.hasSuffix("../escape.jpg"), "\(error)")
        }
        files = try FileManager.default.subpathsOfDirectory(atPath: dir.path + "/store")
        #expect(!files.contains { $0.hasPrefix("c/") && $0 != "c" }, "none of the group is stored: \(files)")
        await #expect(throws: ObjectStoreError.self, "a key twice in one group") {
            try await store.put([
                NewObject(key: "d/4.jpg", data: Data("a".utf8), contentType: nil),
                NewObject(key: "d/4.jpg", data: Data("b".utf8), contentType: nil),
            ])
        }
    }

    @Test func anObjectWhoseBytesWereLostInACrashIsWrittenAgain() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/store"
        let store = try FileObjectStore(root: root)
        let bytes = Data((0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let object = NewObject(key: "v/x.jpg", data: bytes, contentType: "image/jpeg")
        _ = try await store.put([object])
        // What a power cut before the sync can leave: the name, the recorded size and
        // attribute, and blocks that never reached the disk (zeros here), written in place.
        let file = open(root + "/v/x.jpg", O_WRONLY)
        #expect(file >= 0)
        let zeros = [UInt8](repeating: 0, count: bytes.count)
        #expect(pwrite(file, zeros, zeros.count, 0) == zeros.count)
        close(file)
        let rerun = try await store.put([object])
        #expect(rerun[0].written, "lost bytes were taken for the object")
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/v/x.jpg")) == bytes)
        #expect(try await store.head("v/x.jpg").sha256 == Hex.encode(SHA256.hash(bytes)))
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
        #expect(rehashed.etag == String(Hex.encode(SHA256.hash(edited)).prefix(32)))

        // Overwritten through the store: the object's own record wins and the sidecar goes.
        _ = try await store.put("k/x.png", data: bytes, contentType: "image/png")
        #expect(!FileManager.default.fileExists(atPath: store.metadataPath("k/x.png")))
        #expect(try await store.head("k/x.png").sha256 == Hex.encode(SHA256.hash(bytes)))
    }
}
