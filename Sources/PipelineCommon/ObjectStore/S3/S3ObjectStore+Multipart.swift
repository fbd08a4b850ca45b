import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    /// Multipart uploads under this store's prefix that were started and neither completed
    /// nor aborted: (key, upload id).
    public func pendingMultipartUploads() async throws -> [(key: String, uploadId: String)] {
        let url = bucketURL(query: Self.queryString([("uploads", ""), ("prefix", prefix)]))
        let response = try await send("GET", url, operation: "ListMultipartUploads", key: nil)
        guard response.isSuccess else { throw failure(response, operation: "ListMultipartUploads", key: nil) }
        return (S3XMLElement.parse(response.body)?.all("Upload") ?? []).map {
            (String(($0.value("Key") ?? "").dropFirst(prefix.count)), $0.value("UploadId") ?? "")
        }
    }

    /// The upload declares CRC-32 checksums (`x-amz-checksum-algorithm`) and each part
    /// carries its own, which S3 checks as the part arrives and keeps as the object's
    /// composite checksum: this is the AWS SDKs' default, and without it S3 (and moto) compute
    /// a full-object CRC-64 over the assembled object when it completes.
    ///
    /// Each part's SHA-256 signs its request. When the caller did not give the whole file's
    /// SHA-256 (for the metadata), the parts' are computed on one pool thread while another
    /// computes it, so parts can go as soon as the upload is created; otherwise each part
    /// hashes itself as its turn comes. Parts are streamed from the file, so memory stays at
    /// libcurl's buffers whatever the part size.
    func multipartUpload(
        _ key: String, path: String, size: UInt64, contentType: String?, sha256 known: String?,
        progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> ObjectInfo {
        let partSize = multipart.partSize
        let parts = stride(from: UInt64(0), to: size, by: Int(partSize)).map { $0..<min($0 + partSize, size) }
        // Without the caller's SHA-256, one pool thread hashes the whole file for the metadata
        // while another hashes the parts in order, handing each over as it is done.
        let handedOver = known == nil ? parts.map { _ in OneShot<Result<PartDigest, any Error>>() } : []
        async let partsHashed: Void = hashParts(key, path: path, parts: parts, into: handedOver)
        let sha256: String
        if let known {
            sha256 = known
        } else {
            sha256 = try await BlockingPools.files.runIfActive { Hex.encode(try SHA256.hash(fileAtPath: path)) }
        }
        let digest: @Sendable (Int) async throws -> PartDigest
        if handedOver.isEmpty {
            digest = { [self] index in
                try await BlockingPools.files.runIfActive { [self] in
                    try partDigest(key, path: path, part: parts[index], number: index + 1)
                }
            }
        } else {
            digest = { index in try await handedOver[index].value.get() }
        }
        let type = contentType ?? "application/octet-stream"
        let created = try await send(
            "POST", objectURL(key, query: "uploads="),
            headers: ["Content-Type": type, "x-amz-meta-sha256": sha256, "x-amz-checksum-algorithm": "CRC32"],
            operation: "CreateMultipartUpload", key: key)
        guard created.isSuccess, let uploadId = S3XMLElement.parse(created.body)?.value("UploadId") else {
            throw failure(created, operation: "CreateMultipartUpload", key: key)
        }
        logger.debug("multipart upload started", metadata: ["key": "\(fullKey(key))", "size": "\(size)"])
        do {
            let uploaded = try await uploadParts(
                key, path: path, parts: parts, digest: digest, uploadId: uploadId, progress: progress)
            await partsHashed
            let body =
                "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + uploaded.enumerated().map {
                    "<Part><ChecksumCRC32>\($0.element.crc32)</ChecksumCRC32><ETag>\"\($0.element.etag)\"</ETag>"
                        + "<PartNumber>\($0.offset + 1)</PartNumber></Part>"
                }
                .joined() + "</CompleteMultipartUpload>"
            let data = Data(body.utf8)
            let completed = try await send(
                "POST", objectURL(key, query: "uploadId=" + URIEncoding.encode(uploadId, keepSlash: false)),
                headers: ["Content-Type": "application/xml"], body: .bytes(data),
                payloadHash: Hex.encode(SHA256.hash(data)), operation: "CompleteMultipartUpload", key: key)
            let result = S3XMLElement.parse(completed.body)
            guard completed.isSuccess, result?.name != "Error" else {
                throw failure(completed, operation: "CompleteMultipartUpload", key: key)
            }
            return ObjectInfo(
                key: key, size: size, etag: Self.unquote(result?.value("ETag") ?? ""), lastModified: nil,
                sha256: sha256,
                contentType: type)
        } catch {
            // Abort outside this (possibly cancelled) task, so the abort itself is not cancelled.
            let abort = Task { [self] in
                try await send(
                    "DELETE", objectURL(key, query: "uploadId=" + URIEncoding.encode(uploadId, keepSlash: false)),
                    operation: "AbortMultipartUpload", key: key)
            }
            if let response = try? await abort.value, !response.isSuccess, response.status != 404 {
                logger.error(
                    "could not abort multipart upload",
                    metadata: ["key": "\(fullKey(key))", "upload_id": "\(uploadId)", "status": "\(response.status)"])
            }
            throw error
        }
    }

    /// Uploads every part, at most `concurrency` at once, and returns their ETags and CRC-32s
    /// in order.
    private func uploadParts(
        _ key: String, path: String, parts: [Range<UInt64>],
        digest: @escaping @Sendable (Int) async throws -> PartDigest,
        uploadId: String, progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> [(etag: String, crc32: String)] {
        let sent = TransferredBytes(progress)
        return try await concurrentMap(count: parts.count, limit: multipart.concurrency) { [self] index in
            let part = parts[index]
            let digest = try await digest(index)
            let query = "partNumber=\(index + 1)&uploadId=" + URIEncoding.encode(uploadId, keepSlash: false)
            let response: HTTPResponse
            do {
                response = try await send(
                    "PUT", objectURL(key, query: query), headers: ["x-amz-checksum-crc32": digest.crc32],
                    body: .file(path: path, offset: part.lowerBound, length: UInt64(part.count)),
                    payloadHash: digest.sha256, operation: "UploadPart", key: key,
                    largeBody: UInt64(part.count) >= Self.largeBody)
            } catch let error as ObjectStoreError where error.kind == .transport {
                // A file that shrank since it was hashed cannot fill the part.
                var status = stat()
                if stat(path, &status) != 0 || UInt64(status.st_size) < part.upperBound {
                    throw changedDuringUpload(key, path: path, part: index + 1)
                }
                throw error
            }
            guard response.isSuccess, let etag = response.headers["ETag"] else {
                throw failure(response, operation: "UploadPart", key: key)
            }
            sent.add(UInt64(part.count))
            return (Self.unquote(etag), digest.crc32)
        }
    }

    /// What a part's request carries: its SHA-256 (hex), which signs it, and its CRC-32
    /// (base64), which S3 checks and keeps as the part's checksum, as the AWS SDKs send it.
    struct PartDigest: Sendable {
        var sha256: String
        var crc32: String
    }

    /// Hashes every part in order on one pool thread, setting each part's slot as it is done;
    /// on a failure every slot not yet set gets it. Nothing to do without slots.
    private func hashParts(
        _ key: String, path: String, parts: [Range<UInt64>], into slots: [OneShot<Result<PartDigest, any Error>>]
    ) async {
        guard !slots.isEmpty else { return }
        do {
            try await BlockingPools.files.runIfActive { [self] in
                for index in parts.indices {
                    slots[index].set(.success(try partDigest(key, path: path, part: parts[index], number: index + 1)))
                }
            }
        } catch {
            for slot in slots { slot.set(.failure(error)) }
        }
    }

    /// The digests of bytes `part` of the file, which must all still be there, read once.
    private func partDigest(_ key: String, path: String, part: Range<UInt64>, number: Int) throws -> PartDigest {
        let sha256 = SHA256()
        let crc32 = CRC32()
        guard try MessageDigest.update([sha256, crc32], withFileAt: path, range: part) == part.count else {
            throw changedDuringUpload(key, path: path, part: number)
        }
        return PartDigest(
            sha256: Hex.encode(sha256.finalize()), crc32: Data(crc32.finalize()).base64EncodedString())
    }

    private func changedDuringUpload(_ key: String, path: String, part: Int) -> ObjectStoreError {
        ObjectStoreError(
            kind: .local, operation: "UploadPart", location: where_(key),
            message: "\(path) changed during the upload (part \(part) is short)")
    }
}
