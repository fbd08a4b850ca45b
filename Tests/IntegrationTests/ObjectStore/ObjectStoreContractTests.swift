import Foundation
import Logging
import TestSupport
import Testing

@testable import PipelineCommon

/// The behaviour callers see, checked the same way on both stores: the embedded file store
/// and S3 (SeaweedFS, signatures checked).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case file
    case s3

    var testDescription: String { rawValue }

    /// The ETag a single-part put of `bytes` gets: S3's MD5, the file store's SHA-256 prefix.
    func etag(of bytes: Data) -> String {
        switch self {
        case .file: String(Hex.encode(SHA256.hash(bytes)).prefix(32))
        case .s3: Hex.encode(MD5.hash(bytes))
        }
    }
}

/// A store under a fresh prefix (or directory), removed afterwards.
struct ScratchStore {
    let store: any ObjectStore
    let cleanup: @Sendable () async -> Void

    static let logger = Logger(label: "object-store-tests")

    static func make(_ kind: StoreKind, multipart: S3ObjectStore.Multipart = .init()) throws -> ScratchStore {
        switch kind {
        case .file:
            let dir = try TemporaryDirectory()
            return ScratchStore(store: try FileObjectStore(root: dir.path + "/store")) { dir.remove() }
        case .s3:
            let store = try makeS3(prefix: "contract-\(UUID().uuidString.prefix(8))/", multipart: multipart)
            return ScratchStore(store: store) {
                var keys: [String] = []
                do { for try await object in store.listAll() { keys.append(object.key) } } catch {}
                _ = try? await store.delete(keys)
            }
        }
    }

    static func makeS3(
        prefix: String, accessKeyId: String? = nil, secret: String? = nil, multipart: S3ObjectStore.Multipart = .init(),
        attempts: Int = 4
    ) throws -> S3ObjectStore {
        let http = HTTPClient(
            configuration: .init(retryPolicy: RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(50))),
            logger: logger)
        return S3ObjectStore(
            bucket: try Services.value("PIPELINE_TEST_S3_BUCKET"), prefix: prefix,
            endpoint: URL(string: try Services.value("PIPELINE_TEST_S3_ENDPOINT"))!,
            region: try Services.value("PIPELINE_TEST_S3_REGION"),
            credentials: AWSCredentials(
                accessKeyId: try accessKeyId ?? Services.value("PIPELINE_TEST_S3_ACCESS_KEY_ID"),
                secretAccessKey: try secret ?? Services.value("PIPELINE_TEST_S3_SECRET_ACCESS_KEY")),
            http: http, multipart: multipart, logger: logger)
    }
}

@Suite("Object store contract: file store and S3 behave the same")
struct ObjectStoreContractTests {
    static var kinds: [StoreKind] {
        Services.available("PIPELINE_TEST_S3_ENDPOINT") ? [.file, .s3] : [.file]
    }

    func withStore(_ kind: StoreKind, _ body: (any ObjectStore, TemporaryDirectory) async throws -> Void) async throws {
        let scratch = try ScratchStore.make(kind)
        let dir = try TemporaryDirectory()
        do {
            try await body(scratch.store, dir)
        } catch {
            await scratch.cleanup()
            dir.remove()
            throw error
        }
        await scratch.cleanup()
        dir.remove()
    }

    @Test(arguments: kinds)
    func putHeadGetRoundTrip(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, dir in
            let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
            let put = try await store.put("images/a.jpg", data: bytes, contentType: "image/jpeg")
            #expect(put.size == 100_000)
            #expect(put.etag == kind.etag(of: bytes), "single-part ETag: S3's MD5 of the bytes, the file store's SHA-256 prefix")
            #expect(put.sha256 == Hex.encode(SHA256.hash(bytes)))

            let head = try await store.head("images/a.jpg")
            #expect(head.size == 100_000)
            #expect(head.etag == put.etag)
            #expect(head.sha256 == put.sha256)
            #expect(head.contentType == "image/jpeg")
            #expect(head.lastModified != nil)

            let target = dir.file("a.jpg")
            let got = try await store.get("images/a.jpg", to: target)
            #expect(got.bytesWritten == 100_000)
            #expect(got.sha256 == put.sha256)
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == bytes)

            let fetched = try await store.data("images/a.jpg", limit: 100_000)
            #expect(fetched.bytes == bytes)
            #expect(fetched.sha256 == put.sha256 && fetched.info.size == 100_000 && fetched.info.etag == put.etag)
            do {
                _ = try await store.data("images/a.jpg", limit: 99_999)
                Issue.record("an object past the limit was read into memory")
            } catch let error as ObjectStoreError {
                #expect(error.code == ObjectStoreError.tooLargeForMemory)
            }
            // Past the limit while it streams in (S3 stops the transfer): the same refusal.
            let large = Data(repeating: 7, count: 1_500_000)
            _ = try await store.put("images/large.bin", data: large, contentType: nil)
            do {
                _ = try await store.data("images/large.bin", limit: 1 << 20)
                Issue.record("an object past the limit was read into memory")
            } catch let error as ObjectStoreError {
                #expect(error.code == ObjectStoreError.tooLargeForMemory, "\(error)")
            }
            do {
                _ = try await store.data("images/missing.jpg", limit: 100)
                Issue.record("a missing key was read")
            } catch let error as ObjectStoreError {
                #expect(error.kind == .notFound)
            }

            let source = dir.file("upload.bin")
            try bytes.prefix(777).write(to: URL(fileURLWithPath: source))
            let fromFile = try await store.put("images/b.bin", fromFile: source, contentType: nil, sha256: nil)
            #expect(fromFile.size == 777)
            #expect(try await store.head("images/b.bin").sha256 == Hex.encode(SHA256.hash(bytes.prefix(777))))

            // Overwrite replaces.
            _ = try await store.put("images/b.bin", data: Data("new".utf8), contentType: "text/plain")
            #expect(try await store.head("images/b.bin").size == 3)
        }
    }

    @Test(arguments: kinds)
    func objectsPutTogetherAreWrittenUnlessTheKeyHoldsTheSameBytes(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let a = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let b = Data("b".utf8)
            let objects = [
                NewObject(key: "v/large/a.jpg", data: a, contentType: "image/jpeg"),
                NewObject(key: "v/small/b.png", data: b, contentType: "image/png"),
            ]
            let first = try await store.put(objects)
            #expect(first.map(\.written) == [true, true])
            #expect(first.map(\.info.key) == ["v/large/a.jpg", "v/small/b.png"])
            #expect(first[0].info.sha256 == Hex.encode(SHA256.hash(a)) && first[0].info.size == 70_000)
            let head = try await store.head("v/small/b.png")
            #expect(head.contentType == "image/png" && head.sha256 == Hex.encode(SHA256.hash(b)))
            #expect(try await store.data("v/large/a.jpg", limit: 1 << 20).bytes == a)

            // A re-run: the same bytes are left alone and described as stored.
            let again = try await store.put(objects)
            #expect(again.map(\.written) == [false, false])
            #expect(again[0].info.sha256 == first[0].info.sha256 && again[1].info.size == 1)

            // Other bytes of the same size under a key are not the same object.
            var changed = a
            changed[35_000] ^= 0xFF
            let third = try await store.put([
                NewObject(key: "v/large/a.jpg", data: changed, contentType: "image/jpeg"), objects[1],
            ])
            #expect(third.map(\.written) == [true, false])
            #expect(try await store.data("v/large/a.jpg", limit: 1 << 20).bytes == changed)
        }
    }

    @Test(arguments: kinds)
    func aListedObjectIsGotAsListedOrNotAtAll(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, dir in
            _ = try await store.put("listed.txt", data: Data("first version".utf8), contentType: "text/plain")
            let listed = try await store.head("listed.txt")
            let got = try await store.get(listed, to: dir.file("got.txt"))
            #expect(got.sha256 == Hex.encode(SHA256.hash(Data("first version".utf8))))
            // Overwritten since it was listed: refused, and nothing is left at the path.
            _ = try await store.put("listed.txt", data: Data("the second, longer version".utf8), contentType: nil)
            await #expect {
                _ = try await store.get(listed, to: dir.file("stale.txt"))
            } throws: { error in
                guard let error = error as? ObjectStoreError else { return false }
                return error.kind == .integrity && error.code == "PreconditionFailed"
                    && "\(error)".contains("listed.txt") && "\(error)".contains("list it again")
            }
            #expect(!FileManager.default.fileExists(atPath: dir.file("stale.txt")))
            try await store.delete("listed.txt")
        }
    }

    @Test(arguments: kinds)
    func missingKeysAreNotFound(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, dir in
            for operation in ["head", "get"] {
                await #expect {
                    if operation == "head" {
                        _ = try await store.head("no/such/key.jpg")
                    } else {
                        _ = try await store.get("no/such/key.jpg", to: dir.file("x"))
                    }
                } throws: { error in
                    (error as? ObjectStoreError)?.kind == .notFound && "\(error)".contains("no/such/key.jpg")
                }
            }
            #expect(!FileManager.default.fileExists(atPath: dir.file("x")), "a failed GET leaves no file")
            try await store.delete("no/such/key.jpg")  // Deleting a missing key is fine, as on S3.
        }
    }

    @Test(arguments: kinds)
    func listingOrderPrefixesDelimitersAndPages(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let keys = [
                "raw/b.jpg", "raw/a.jpg", "raw/A.jpg", "raw/ä.jpg", "raw/z/deep.jpg", "raw/a b.jpg", "raw/a+b.jpg",
                "raw/~tilde.jpg", "raw/100%.jpg", "raw/日本.jpg", "other/x.jpg", "rawfile.txt",
            ]
            for key in keys { _ = try await store.put(key, data: Data(key.utf8), contentType: nil) }
            let expected = keys.filter { $0.hasPrefix("raw/") }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

            var all: [String] = []
            for try await object in store.listAll(prefix: "raw/", pageSize: 3) { all.append(object.key) }
            #expect(all == expected, "UTF-8 byte order across pages")

            let first = try await store.list(
                prefix: "raw/", delimiter: nil, startAfter: nil, continuation: nil, maxKeys: 4)
            #expect(first.objects.map(\.key) == Array(expected.prefix(4)))
            #expect(first.nextContinuation != nil)
            let objectsFirst = first.objects.first
            #expect(objectsFirst?.size == UInt64(objectsFirst?.key.utf8.count ?? -1))
            #expect(objectsFirst?.etag == kind.etag(of: Data((objectsFirst?.key ?? "").utf8)))

            let after = try await store.list(
                prefix: "raw/", delimiter: nil, startAfter: "raw/a.jpg", continuation: nil, maxKeys: 100)
            #expect(after.objects.map(\.key) == expected.filter { "raw/a.jpg".utf8.lexicographicallyPrecedes($0.utf8) })
            #expect(after.nextContinuation == nil)

            let folders = try await store.list(
                prefix: "", delimiter: "/", startAfter: nil, continuation: nil, maxKeys: 100)
            #expect(folders.commonPrefixes == ["other/", "raw/"])
            #expect(folders.objects.map(\.key) == ["rawfile.txt"])
            let nested = try await store.list(
                prefix: "raw/", delimiter: "/", startAfter: nil, continuation: nil, maxKeys: 100)
            #expect(nested.commonPrefixes == ["raw/z/"])
            #expect(nested.objects.count == expected.count - 1)
        }
    }

    @Test(arguments: kinds)
    func rangedGet(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, dir in
            let bytes = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0) })
            _ = try await store.put("r.bin", data: bytes, contentType: nil)
            let result = try await store.get("r.bin", to: dir.file("part"), range: 10..<20)
            #expect(result.bytesWritten == 10)
            #expect(result.info.size == 1000)
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("part"))) == bytes[10..<20])
        }
    }

    @Test(arguments: kinds)
    func copyAndDelete(_ kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let put = try await store.put("src/one.json", data: Data("{\"a\":1}".utf8), contentType: "application/json")
            let copied = try await store.copy("src/one.json", to: "dst/one copy.json")
            #expect(copied.etag == put.etag)
            #expect(copied.sha256 == put.sha256)
            #expect(copied.contentType == "application/json")
            for index in 0..<5 { _ = try await store.put("del/\(index)", data: Data([UInt8(index)]), contentType: nil) }
            let failures = try await store.delete((0..<5).map { "del/\($0)" } + ["del/missing"])
            #expect(failures.isEmpty)
            var left: [String] = []
            for try await object in store.listAll() { left.append(object.key) }
            #expect(left == ["dst/one copy.json", "src/one.json"])
            try await store.delete("src/one.json")
            await #expect(throws: ObjectStoreError.self) { _ = try await store.head("src/one.json") }
        }
    }
}
