import Foundation
import FuzzDriver
import Learning
import PipelineCommon

/// A model file (the artifact behind a registered model version), as infer loads it: the input
/// as it is, and the input with its SHA-256 appended (as a model file ends), so that mutations get
/// past the checksum to the header and parameters. Seeds are bodies without the checksum.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? ModelFile.decode(data, name: "fuzz")
    _ = try? ModelFile.decode(data + Data(PipelineCommon.SHA256.hash(data)), name: "fuzz")
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, running `fuzz`.
@_cdecl("FuzzModelFile_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzz($0, $1) }
}
