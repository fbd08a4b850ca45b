import Foundation
import FuzzDriver
import IngestStage

/// A webhook delivery's body, as `POST /events` reads it: any bytes must give an answer or an
/// error naming the problem, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? BucketNotification.parse(data)
    if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
        if let message = try? SNSSignedMessage.parse(object) {
            _ = SNSSignedMessage.certificateURLProblem(message.signingCertURL, trustedHosts: ["127.0.0.1:1"])
        }
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, running `fuzz`.
@_cdecl("FuzzBucketNotification_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzz($0, $1) }
}
