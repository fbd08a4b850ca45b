import CCurl
import Foundation
import Synchronization

/// Set from any thread to make a running transfer stop at its next progress callback.
final class TransferCancellation: Sendable {
    let flag = Atomic<Bool>(false)
    func cancel() { flag.store(true, ordering: .relaxed) }
    var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// What one attempt produced: a response, or a transport error kind with libcurl's message.
enum TransferOutcome: Sendable {
    case response(
        status: Int, headers: HTTPHeaders, body: Data, bytesWritten: UInt64, newConnections: Int)
    case failure(HTTPClientError.Kind, detail: String)
}

/// Settings of the client that every attempt applies.
struct TransferSettings: Sendable {
    var connectTimeout: Duration
    var timeout: Duration
    var caBundle: String?
    var userAgent: String
}

/// The state one blocking transfer's C callbacks share. Lives on the stack of the pool
/// thread that runs the transfer and is only touched by that thread.
final class TransferState {
    let handle: UnsafeMutableRawPointer
    let cancellation: TransferCancellation
    var headerFields: [HTTPHeaders.Field] = []

    // Request body: either bytes in memory or a file descriptor.
    var uploadBytes: Data = Data()
    var uploadOffset = 0
    var uploadFD: Int32 = -1
    var uploadRemaining: UInt64 = 0

    // Response body.
    var memoryLimit: Int
    var outputPath: String?
    /// Where in an existing file the body goes (`.fileRegion`); nil to create or truncate.
    var outputOffset: UInt64?
    var outputFD: Int32 = -1
    var sinkDecided = false
    var toMemory = true
    var body = Data()
    var bytesWritten: UInt64 = 0
    /// Bytes of the body already handed to the kernel's writeback, so the final fsync has
    /// little left to wait for.
    var writebackStarted: UInt64 = 0
    var digest: InOrderFileDigest?
    var failure: HTTPClientError.Kind?
    var progress: (@Sendable (Int64, Int64) -> Void)?
    var onResponseHead: (@Sendable (Int, HTTPHeaders) -> Void)?
    /// The status of the response whose headers are coming in.
    var responseStatus = 0

    init(handle: UnsafeMutableRawPointer, cancellation: TransferCancellation, memoryLimit: Int) {
        self.handle = handle
        self.cancellation = cancellation
        self.memoryLimit = memoryLimit
    }

    /// Once the status is known: error bodies stay in memory (bounded), success goes to the sink.
    func decideSink() -> Bool {
        guard !sinkDecided else { return true }
        sinkDecided = true
        var status = 0
        _ = pl_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard let outputPath, status < 300 else {
            if outputPath != nil { memoryLimit = 1 << 20 }
            toMemory = true
            return true
        }
        if let outputOffset {
            outputFD = open(outputPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            if outputFD >= 0, lseek(outputFD, off_t(outputOffset), SEEK_SET) < 0 {
                close(outputFD)
                outputFD = -1
            }
        } else {
            outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
        guard outputFD >= 0 else {
            failure = .responseFileUnwritable
            return false
        }
        digest?.restart(region: outputOffset ?? 0)
        toMemory = false
        return true
    }

    func receive(_ buffer: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        guard decideSink() else { return 0 }
        if toMemory {
            guard body.count + count <= memoryLimit else {
                failure = .responseTooLarge(limit: memoryLimit)
                return 0
            }
            body.append(UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: count)
            return count
        }
        var done = 0
        while done < count {
            let n = write(outputFD, buffer + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = .responseFileUnwritable
                return 0
            }
            done += n
        }
        let start = outputOffset ?? 0
        digest?.appended(UnsafeRawBufferPointer(start: buffer, count: count), at: start + bytesWritten, region: start)
        bytesWritten += UInt64(count)
        if bytesWritten - writebackStarted >= Self.writebackBatch {
            _ = pl_start_writeback(
                outputFD, Int64(start + writebackStarted), Int64(bytesWritten - writebackStarted))
            writebackStarted = bytesWritten
        }
        return count
    }

    /// Written bytes are handed to writeback in batches of this size, as RocksDB's
    /// `bytes_per_sync` does: the disk writes while the body still streams in.
    static let writebackBatch: UInt64 = 8 << 20

    func send(_ buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        if uploadFD >= 0 {
            let wanted = Int(min(UInt64(capacity), uploadRemaining))
            guard wanted > 0 else { return 0 }
            while true {
                let n = read(uploadFD, buffer, wanted)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    // The file shrank or failed under us: abort rather than send a short body.
                    failure = .requestBodyUnreadable
                    return pl_curl_readfunc_abort()
                }
                uploadRemaining -= UInt64(n)
                return n
            }
        }
        let n = min(capacity, uploadBytes.count - uploadOffset)
        guard n > 0 else { return 0 }
        uploadBytes.withUnsafeBytes { raw in
            let start = raw.baseAddress!.advanced(by: uploadOffset)
            UnsafeMutableRawPointer(buffer).copyMemory(from: start, byteCount: n)
        }
        uploadOffset += n
        return n
    }

    func header(_ buffer: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: count), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            headerFields.removeAll()  // A new response (after 100 Continue or a redirect).
            responseStatus = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        } else if line.isEmpty {
            if responseStatus >= 200 {
                onResponseHead?(responseStatus, HTTPHeaders(headerFields.map { ($0.name, $0.value) }))
            }
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headerFields.append(.init(name: name, value: value))
        }
        return count
    }

    func closeFiles() {
        if uploadFD >= 0 { close(uploadFD); uploadFD = -1 }
        if outputFD >= 0 { close(outputFD); outputFD = -1 }
    }
}

private func state(_ userdata: UnsafeMutableRawPointer?) -> TransferState {
    Unmanaged<TransferState>.fromOpaque(userdata!).takeUnretainedValue()
}

private func curlWriteCallback(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer else { return 0 }
    return state(userdata).receive(buffer, count: size * count)
}

private func curlReadCallback(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer else { return 0 }
    return state(userdata).send(buffer, capacity: size * count)
}

private func curlHeaderCallback(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer else { return 0 }
    return state(userdata).header(buffer, count: size * count)
}

private func curlProgressCallback(
    _ userdata: UnsafeMutableRawPointer?, _: curl_off_t, _ received: curl_off_t, _: curl_off_t, _ sent: curl_off_t
) -> Int32 {
    let transfer = state(userdata)
    transfer.progress?(Int64(sent), Int64(received))
    return transfer.cancellation.isCancelled ? 1 : 0
}

/// Runs one attempt of a request on the calling thread, which must be a blocking-pool thread.
enum CurlTransfer {
    static func perform(
        _ request: HTTPRequest, sink: HTTPResponseSink, settings: TransferSettings, handle: CurlEasyHandle,
        cancellation: TransferCancellation
    ) -> TransferOutcome {
        let h = handle.raw
        curl_easy_reset(h)  // Keeps the connection and DNS caches.
        let memoryLimit: Int
        var outputPath: String?
        var outputOffset: UInt64?
        var digest: InOrderFileDigest?
        switch sink {
        case .memory(let limit): memoryLimit = limit
        case .file(let path, let fileDigest):
            memoryLimit = 1 << 20
            outputPath = path
            digest = fileDigest
        case .fileRegion(let path, let offset, let regionDigest):
            memoryLimit = 1 << 20
            outputPath = path
            outputOffset = offset
            digest = regionDigest
        }
        let state = TransferState(handle: h, cancellation: cancellation, memoryLimit: memoryLimit)
        state.outputPath = outputPath
        state.outputOffset = outputOffset
        state.progress = request.progress
        state.onResponseHead = request.onResponseHead
        state.digest = digest
        defer { state.closeFiles() }
        let userdata = Unmanaged.passUnretained(state).toOpaque()

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        // Request body.
        var uploadSize: UInt64?
        switch request.body {
        case .empty:
            if request.method == "PUT" || request.method == "POST" { uploadSize = 0 }
        case .bytes(let data):
            state.uploadBytes = data
            uploadSize = UInt64(data.count)
        case .file(let path, let offset, let length):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            var info = stat()
            guard fd >= 0, fstat(fd, &info) == 0 else {
                if fd >= 0 { close(fd) }
                return .failure(
                    .requestBodyUnreadable, detail: "cannot open \(path): \(String(cString: strerror(errno)))")
            }
            state.uploadFD = fd
            let available = UInt64(info.st_size) > offset ? UInt64(info.st_size) - offset : 0
            let size = min(length ?? available, available)
            guard lseek(fd, off_t(offset), SEEK_SET) >= 0, length == nil || size == length else {
                return .failure(.requestBodyUnreadable, detail: "\(path) is shorter than the requested range")
            }
            state.uploadRemaining = size
            uploadSize = size
        }

        for field in request.headers {
            headerList = curl_slist_append(headerList, "\(field.name): \(field.value)")
        }
        // libcurl would add `Expect: 100-continue` to every upload over 1 MiB: it costs a round
        // trip, so only a request that asks for it (for a large body) gets it.
        if request.headers["Expect"] == nil {
            headerList = curl_slist_append(headerList, "Expect:")
        }

        var ok = true
        var rejected = ""
        func set(_ code: CURLcode, line: Int = #line) {
            if ok, code != CURLE_OK { rejected = "\(line): \(String(cString: curl_easy_strerror(code)))" }
            ok = ok && code == CURLE_OK
        }
        set(pl_curl_setopt_string(h, CURLOPT_URL, request.url.absoluteString))
        set(pl_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        set(pl_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(settings.connectTimeout)))
        set(pl_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, milliseconds(request.timeout ?? settings.timeout)))
        set(pl_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
        set(pl_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
        if let caBundle = settings.caBundle { set(pl_curl_setopt_string(h, CURLOPT_CAINFO, caBundle)) }
        set(pl_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1))
        set(pl_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0))
        // Object keys may hold `..` and `//`: send the path exactly as given.
        set(pl_curl_setopt_long(h, CURLOPT_PATH_AS_IS, 1))
        set(pl_curl_setopt_string(h, CURLOPT_USERAGENT, settings.userAgent))
        set(pl_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer))
        set(pl_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList))
        set(pl_curl_setopt_long(h, CURLOPT_BUFFERSIZE, 256 << 10))
        set(pl_curl_setopt_long(h, CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10))
        set(pl_curl_setopt_data_callback(h, CURLOPT_WRITEFUNCTION, curlWriteCallback))
        set(pl_curl_setopt_pointer(h, CURLOPT_WRITEDATA, userdata))
        set(pl_curl_setopt_data_callback(h, CURLOPT_HEADERFUNCTION, curlHeaderCallback))
        set(pl_curl_setopt_pointer(h, CURLOPT_HEADERDATA, userdata))
        set(pl_curl_setopt_long(h, CURLOPT_NOPROGRESS, 0))
        set(pl_curl_setopt_xferinfo_callback(h, curlProgressCallback))
        set(pl_curl_setopt_pointer(h, CURLOPT_XFERINFODATA, userdata))

        switch request.method {
        case "GET":
            break
        case "HEAD":
            set(pl_curl_setopt_long(h, CURLOPT_NOBODY, 1))
        default:
            if let uploadSize {
                set(pl_curl_setopt_long(h, CURLOPT_UPLOAD, 1))
                set(pl_curl_setopt_offset(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(uploadSize)))
                set(pl_curl_setopt_data_callback(h, CURLOPT_READFUNCTION, curlReadCallback))
                set(pl_curl_setopt_pointer(h, CURLOPT_READDATA, userdata))
            }
            if request.method != "PUT" {
                set(pl_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method))
            }
        }
        guard ok else {
            return .failure(.invalidURL, detail: "libcurl rejected an option for \(request.method) (\(rejected))")
        }

        let code = curl_easy_perform(h)
        if code != CURLE_OK {
            let message =
                errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
            if let failure = state.failure { return .failure(failure, detail: message) }
            if cancellation.isCancelled { return .failure(.cancelled, detail: message) }
            return .failure(kind(of: code), detail: message)
        }
        _ = state.decideSink()  // For empty bodies, which never reach the write callback.
        if let failure = state.failure { return .failure(failure, detail: "while handling the response") }
        var status = 0
        var connects = 0
        _ = pl_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        _ = pl_curl_getinfo_long(h, CURLINFO_NUM_CONNECTS, &connects)
        if state.outputFD >= 0, fsync(state.outputFD) != 0 {
            return .failure(.responseFileUnwritable, detail: String(cString: strerror(errno)))
        }
        return .response(
            status: status, headers: HTTPHeaders(state.headerFields.map { ($0.name, $0.value) }),
            body: state.body, bytesWritten: state.bytesWritten, newConnections: connects)
    }

    static func kind(of code: CURLcode) -> HTTPClientError.Kind {
        switch code {
        case CURLE_COULDNT_CONNECT: .couldNotConnect
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .hostNotFound
        case CURLE_OPERATION_TIMEDOUT: .timedOut
        // SEND_FAIL_REWIND: the connection broke while the body was being sent and libcurl could
        // not send it again on a new one by itself (a server going down mid-request).
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM, CURLE_SEND_FAIL_REWIND:
            .connectionLost
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CERTPROBLEM:
            .tls
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: .invalidURL
        case CURLE_ABORTED_BY_CALLBACK: .cancelled
        case CURLE_READ_ERROR: .requestBodyUnreadable
        case CURLE_WRITE_ERROR: .responseFileUnwritable
        default: .other(code: Int(code.rawValue))
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
