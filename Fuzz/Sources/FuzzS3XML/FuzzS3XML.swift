import Foundation
import FuzzDriver

@testable import PipelineCommon

/// An S3 server's XML answers: ListObjectsV2 pages and error bodies, as the S3 client reads them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    _ = S3ObjectStore.listing(from: data, prefix: "p/")
    _ = S3ErrorBody(data)
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, running `fuzz`.
@_cdecl("FuzzS3XML_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzz($0, $1) }
}
