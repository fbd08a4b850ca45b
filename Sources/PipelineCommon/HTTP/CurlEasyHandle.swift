import CCurl
import Synchronization

/// A libcurl easy handle. Each one keeps its own connection cache, so reusing handles
/// reuses connections.
///
/// `@unchecked Sendable`: a handle is only used by the one thread that checked it out of
/// ``CurlEasyHandlePool``, and goes back to the pool before another thread can take it.
struct CurlEasyHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// The easy handles not in use, most recently used first so warm connections are reused.
final class CurlEasyHandlePool: Sendable {
    private let idle = Mutex<[CurlEasyHandle]>([])
    private let maxIdle: Int

    init(maxIdle: Int) {
        CurlGlobal.initialise()
        self.maxIdle = maxIdle
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.raw) }
    }

    func checkOut() -> CurlEasyHandle? {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        return curl_easy_init().map(CurlEasyHandle.init)
    }

    /// Returns `handle` for reuse; a handle whose transfer failed is closed instead: after
    /// some failures (a name that did not resolve) libcurl 7.88 refuses options on it.
    func checkIn(_ handle: CurlEasyHandle, failed: Bool = false) {
        guard !failed else {
            curl_easy_cleanup(handle.raw)
            return
        }
        let kept = idle.withLock { handles -> Bool in
            guard handles.count < maxIdle else { return false }
            handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.raw) }
    }
}

/// `curl_global_init` must run once, before any other thread uses libcurl.
enum CurlGlobal {
    private static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    static func initialise() {
        precondition(initialised, "libcurl failed to initialise")
    }

    /// e.g. "libcurl/7.88.1 OpenSSL/3.0.19 zlib/1.2.13".
    static var version: String {
        initialise()
        return String(cString: curl_version())
    }
}
