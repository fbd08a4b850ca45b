import Foundation
import Logging
import TestSupport
import StageCommand
import Testing

@testable import PipelineCommon

@Suite(
    "S3 object store against the signature-checking S3 server",
    .enabled(if: Services.available("PIPELINE_TEST_S3_ENDPOINT"), Services.skipReason))
struct S3ObjectStoreTests {
    static func prefix() -> String { "s3test-\(UUID().uuidString.prefix(8))/" }

    static func randomFile(_ dir: TemporaryDirectory, _ name: String, bytes: Int) throws -> (String, Data) {
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        let data = try #require(try random.read(upToCount: bytes))
        let path = dir.file(name)
        try data.write(to: URL(fileURLWithPath: path))
        return (path, data)
    }

    /// Waits until the store shows a multipart upload in progress.
    static func waitForPendingUpload(_ store: S3ObjectStore) async throws {
        for _ in 0..<500 {
            if try await !store.pendingMultipartUploads().isEmpty { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the multipart upload should have been visible while in progress")
    }

    @Test func multipartUploadOfMoreThanTwoParts() async throws {
        let store = try ScratchStore.makeS3(
            prefix: Self.prefix(), multipart: .init(threshold: 5 << 20, partSize: 5 << 20, concurrency: 3))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, data) = try Self.randomFile(dir, "big.bin", bytes: (12 << 20) + 12_345)
        let put = try await store.put("big.bin", fromFile: path, contentType: "application/octet-stream", sha256: nil)
        #expect(put.etag.hasSuffix("-3"), "a 3-part upload's ETag is md5-of-md5s-3, got \(put.etag)")
        let head = try await store.head("big.bin")
        #expect(head.size == UInt64(data.count))
        #expect(head.sha256 == Hex.encode(SHA256.hash(data)))
        let got = try await store.get("big.bin", to: dir.file("back.bin"))
        #expect(got.sha256 == head.sha256)
        #expect(try await store.pendingMultipartUploads().isEmpty)
        try await store.delete("big.bin")
    }

    @Test func aListedObjectComesInPartsAllPinnedToItsETag() async throws {
        let store = try ScratchStore.makeS3(
            prefix: Self.prefix(), multipart: .init(threshold: 5 << 20, partSize: 5 << 20, concurrency: 3))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, data) = try Self.randomFile(dir, "listed.bin", bytes: (11 << 20) + 5)
        _ = try await store.put("listed.bin", fromFile: path, contentType: nil, sha256: nil)
        let listed = try await store.head("listed.bin")
        let got = try await store.get(listed, to: dir.file("got.bin"))
        #expect(got.sha256 == Hex.encode(SHA256.hash(data)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("got.bin"))) == data)
        // Overwritten since it was listed (same size, other bytes): every part's If-Match fails.
        let (other, _) = try Self.randomFile(dir, "other.bin", bytes: (11 << 20) + 5)
        _ = try await store.put("listed.bin", fromFile: other, contentType: nil, sha256: nil)
        await #expect {
            _ = try await store.get(listed, to: dir.file("stale.bin"))
        } throws: { error in
            (error as? ObjectStoreError)?.code == "PreconditionFailed"
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("stale.bin")))
        try await store.delete("listed.bin")
    }

    @Test func aFailedMultipartUploadIsAbortedAndLeavesNothing() async throws {
        let store = try ScratchStore.makeS3(
            prefix: Self.prefix(), multipart: .init(threshold: 5 << 20, partSize: 5 << 20, concurrency: 1))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, data) = try Self.randomFile(dir, "doomed.bin", bytes: 60 << 20)
        let known = Hex.encode(SHA256.hash(data))
        let upload = Task { try await store.put("doomed.bin", fromFile: path, contentType: nil, sha256: known) }
        // Once the upload is under way, cut the source short: the next part cannot be read.
        try await Self.waitForPendingUpload(store)
        truncate(path, 1)
        await #expect {
            _ = try await upload.value
        } throws: { error in
            "\(error)".contains("changed during the upload")
        }
        #expect(try await store.pendingMultipartUploads().isEmpty, "the failed upload must be aborted")
        await #expect(throws: ObjectStoreError.self) { _ = try await store.head("doomed.bin") }
    }

    @Test func aCancelledMultipartUploadIsAborted() async throws {
        let store = try ScratchStore.makeS3(
            prefix: Self.prefix(), multipart: .init(threshold: 5 << 20, partSize: 5 << 20, concurrency: 1))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, data) = try Self.randomFile(dir, "cancelled.bin", bytes: 60 << 20)
        let known = Hex.encode(SHA256.hash(data))
        let upload = Task { try await store.put("cancelled.bin", fromFile: path, contentType: nil, sha256: known) }
        try await Self.waitForPendingUpload(store)
        upload.cancel()
        await #expect(throws: (any Error).self) { _ = try await upload.value }
        #expect(try await store.pendingMultipartUploads().isEmpty)
    }

    @Test func aWrongSecretIsRejectedClearly() async throws {
        let store = try ScratchStore.makeS3(prefix: Self.prefix(), secret: "wrong-secret-value", attempts: 1)
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        await #expect {
            _ = try await store.put("x.txt", data: Data("x".utf8), contentType: nil)
        } throws: { error in
            guard let failure = error as? ObjectStoreError else { return false }
            let text = "\(failure)"
            return failure.kind == .invalidCredentials && failure.code == "SignatureDoesNotMatch"
                && text.contains("s3://\(bucket)/") && text.contains("x.txt")
                && !text.contains("wrong-secret-value")
                && !text.contains("Signature=")
        }
    }

    @Test func paginatesOverMoreThanAThousandKeys() async throws {
        let store = try ScratchStore.makeS3(prefix: Self.prefix())
        let keys = (0..<1100).map { String(format: "many/%05d.txt", $0) }
        _ = try await concurrentMap(count: keys.count, limit: 16) { index in
            try await store.put(keys[index], data: Data(keys[index].utf8), contentType: nil)
        }
        var listed: [String] = []
        for try await object in store.listAll(prefix: "many/") { listed.append(object.key) }
        #expect(listed == keys)
        let firstPage = try await store.list(
            prefix: "many/", delimiter: nil, startAfter: nil, continuation: nil, maxKeys: 1000)
        #expect(firstPage.objects.count == 1000)
        #expect(firstPage.nextContinuation != nil)
        let failures = try await store.delete(keys)
        #expect(failures.isEmpty)
        let empty = try await store.list(
            prefix: "many/", delimiter: nil, startAfter: nil, continuation: nil, maxKeys: 10)
        #expect(empty.objects.isEmpty)
    }

    @Test func hostileKeysRoundTrip() async throws {
        let store = try ScratchStore.makeS3(prefix: Self.prefix())
        // No `a//b.jpg` here: SeaweedFS keeps objects as filer paths and collapses `//` to `/`
        // (S3 keeps both); the file store's contract test and the signer's vectors cover it.
        let keys = [
            "a b/c+d.jpg", "100%/~x.jpg", "ünï/日本/🖼.png", "semi;colon=eq&amp.jpg", "quote'\"<>.jpg",
        ]
        for key in keys { _ = try await store.put(key, data: Data(key.utf8), contentType: nil) }
        var listed: [String] = []
        for try await object in store.listAll() { listed.append(object.key) }
        #expect(listed == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for key in keys { #expect(try await store.head(key).size == UInt64(key.utf8.count), "\(key)") }
        _ = try await store.copy("a b/c+d.jpg", to: "copies/a b+c.jpg")
        #expect(try await store.delete(keys + ["copies/a b+c.jpg"]).isEmpty)
    }

    @Test func presignedURLsCarryTheQuerySignature() async throws {
        let store = try ScratchStore.makeS3(prefix: Self.prefix())
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let url = try store.presignedURL(for: "shared dir/a+b.txt", expires: .seconds(600), date: date)
        let components = try #require(URLComponents(url: url, resolvingAgainstBaseURL: false))
        #expect(components.percentEncodedPath.hasSuffix("/shared%20dir/a%2Bb.txt"))
        let items = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(items["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256")
        #expect(items["X-Amz-Expires"] == "600")
        #expect(items["X-Amz-SignedHeaders"] == "host")
        #expect(items["X-Amz-Date"] == "20231114T221320Z")
        #expect(items["X-Amz-Signature"]?.count == 64)
        #expect(!Redaction.url(url.absoluteString).contains(items["X-Amz-Signature"] ?? "-"))
        #expect(throws: ObjectStoreError.self) { _ = try store.presignedURL(for: "k", expires: .seconds(8 * 86_400)) }
    }

    /// The server checks the query signature: a presigned PUT uploads with no credentials of
    /// the holder's own, a presigned GET reads the bytes back, and a URL whose signature,
    /// method or expiry does not hold is refused.
    @Test func presignedGETAndPUTWorkAgainstTheServer() async throws {
        let store = try ScratchStore.makeS3(prefix: Self.prefix())
        let http = HTTPClient(logger: ScratchStore.logger)
        let key = "shared dir/ünï a+b%.txt"
        let bytes = Data("uploaded through a presigned URL\n".utf8)
        let put = try store.presignedURL(for: key, method: "PUT", expires: .seconds(300))
        let uploaded = try await http.execute(HTTPRequest(method: "PUT", url: put, body: .bytes(bytes)))
        #expect(uploaded.status == 200, "\(String(decoding: uploaded.body, as: UTF8.self))")
        #expect(try await store.head(key).size == UInt64(bytes.count))

        let get = try store.presignedURL(for: key, expires: .seconds(300))
        let fetched = try await http.execute(HTTPRequest(url: get))
        #expect(fetched.status == 200)
        #expect(fetched.body == bytes)

        // curl, as a user handed the URL would fetch it.
        let curl = try await Command.run("/usr/bin/curl", ["-fsS", get.absoluteString], environment: [:])
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(curl.stdout == String(decoding: bytes, as: UTF8.self))

        // A GET URL used for a PUT, a tampered signature and an expired URL are refused.
        let misuse = try await http.execute(HTTPRequest(method: "PUT", url: get, body: .bytes(Data("x".utf8))))
        #expect(misuse.status == 403)
        let tampered = URL(
            string: get.absoluteString.replacingOccurrences(of: "X-Amz-Signature=", with: "X-Amz-Signature=0"))!
        #expect(try await http.execute(HTTPRequest(url: tampered)).status == 403)
        let expired = try store.presignedURL(for: key, expires: .seconds(1), date: Date(timeIntervalSinceNow: -3600))
        #expect(try await http.execute(HTTPRequest(url: expired)).status == 403)
        #expect(try await store.head(key).size == UInt64(bytes.count), "the refused PUT changed nothing")
        try await store.delete(key)
    }

    /// A key with read rights only: it lists and reads, and a write is refused with
    /// AccessDenied naming the key id, never its secret.
    @Test(
        .enabled(
            if: Services.available("PIPELINE_TEST_S3_READONLY_ACCESS_KEY_ID"), "no read-only key on this S3 server"))
    func aReadOnlyKeyIsRefusedWritesWithItsIdAndNoSecret() async throws {
        let prefix = Self.prefix()
        let writer = try ScratchStore.makeS3(prefix: prefix)
        _ = try await writer.put("readable.txt", data: Data("ok".utf8), contentType: nil)
        let keyId = try Services.value("PIPELINE_TEST_S3_READONLY_ACCESS_KEY_ID")
        let secret = try Services.value("PIPELINE_TEST_S3_READONLY_SECRET_ACCESS_KEY")
        let reader = try ScratchStore.makeS3(prefix: prefix, accessKeyId: keyId, secret: secret, attempts: 1)
        #expect(try await reader.head("readable.txt").size == 2)
        var listed: [String] = []
        for try await object in reader.listAll() { listed.append(object.key) }
        #expect(listed == ["readable.txt"])

        let refused = await #expect(throws: ObjectStoreError.self) {
            _ = try await reader.put("denied.txt", data: Data("no".utf8), contentType: nil)
        }
        #expect(refused?.kind == .accessDenied)
        #expect(refused?.code == "AccessDenied")
        let message = refused.map { "\($0)" } ?? ""
        #expect(message.contains("grant the key \(keyId) access"), "\(message)")
        #expect(!message.contains(secret))
        await #expect(throws: ObjectStoreError.self) { _ = try await writer.head("denied.txt") }
        try await writer.delete("readable.txt")
    }

    @Test func aCorruptedObjectIsDetectedAndNotStaged() async throws {
        let store = try ScratchStore.makeS3(prefix: Self.prefix())
        // Store bytes whose recorded SHA-256 does not match them, as bit rot or a bad writer would.
        let bytes = Data("the real bytes".utf8)
        let url = store.objectURL("corrupt.bin")
        let headers = store.signer.signHeaders(
            method: "PUT", url: url, headers: ["x-amz-meta-sha256": String(repeating: "0", count: 64)],
            payloadHash: Hex.encode(SHA256.hash(bytes)))
        let http = HTTPClient(logger: ScratchStore.logger)
        #expect(
            try await http.execute(HTTPRequest(method: "PUT", url: url, headers: headers, body: .bytes(bytes))).status
                == 200)

        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let area = StagingArea(root: dir.path, reserveBytes: 0, keepOnFailure: false, logger: ScratchStore.logger)
        let run = try area.makeRun(stage: "ingest", runId: "run-1")
        await #expect {
            _ = try await run.stage("corrupt.bin", from: store)
        } throws: { error in
            (error as? StagingError)?.kind == .integrity
        }
        let path = try run.path(for: "corrupt.bin")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + StagingRun.partialSuffix))
        try await store.delete("corrupt.bin")
    }

    @Test func credentialsComeFromAProfileFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let credentialsFile = dir.file("credentials")
        try """
        [default]
        aws_access_key_id = AKIANOTTHISONE
        aws_secret_access_key = nope

        [pipeline-test]
        aws_access_key_id = \(try Services.value("PIPELINE_TEST_S3_ACCESS_KEY_ID"))
        aws_secret_access_key = \(try Services.value("PIPELINE_TEST_S3_SECRET_ACCESS_KEY"))
        """.write(toFile: credentialsFile, atomically: true, encoding: .utf8)
        let environment = [
            "HOME": dir.path, "AWS_SHARED_CREDENTIALS_FILE": credentialsFile, "AWS_PROFILE": "pipeline-test",
            "PIPELINE_OBJECT_STORE_URL": "s3://\(try Services.value("PIPELINE_TEST_S3_BUCKET"))/\(Self.prefix())",
            "AWS_ENDPOINT_URL_S3": try Services.value("PIPELINE_TEST_S3_ENDPOINT"),
        ]
        let configuration = try PipelineConfiguration.load(environment: environment)
        let store = try ObjectStoreFactory.make(
            configuration, http: HTTPClient(logger: ScratchStore.logger), logger: ScratchStore.logger,
            environment: environment)
        _ = try await store.put("profile.txt", data: Data("ok".utf8), contentType: nil)
        #expect(try await store.head("profile.txt").size == 2)
        try await store.delete("profile.txt")
    }
}
