import Foundation
import FuzzDriver
import PipelineCommon
import StageCommand

/// A configuration file (YAML), loaded as the executables load `--config`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    let path = "/dev/shm/pipeline-fuzz-config-\(getpid()).yaml"
    guard FileManager.default.createFile(atPath: path, contents: data) else { return 0 }
    defer { unlink(path) }
    _ = try? PipelineConfiguration.load(file: path, environment: ["HOME": "/tmp"])
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, running `fuzz`.
@_cdecl("FuzzConfig_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzz($0, $1) }
}
