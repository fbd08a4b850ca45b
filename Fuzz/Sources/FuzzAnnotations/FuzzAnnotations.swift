import Foundation
import FuzzDriver
import IngestStage
import PipelineCommon

/// An annotation file under `annotations/` (COCO instances or a Label Studio export), read into
/// the index ingest matches images against, then looked up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    var index = AnnotationIndex()
    if (try? index.add(json: data, from: "annotations/fuzz.json")) != nil {
        for key in ["raw/a.jpg", "raw/images/1.png", "raw/"] { _ = index.annotations(for: key, rawPrefix: "raw/") }
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, running `fuzz`.
@_cdecl("FuzzAnnotations_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzz($0, $1) }
}
