// swift-tools-version:6.1
// libFuzzer targets for the parsers of bytes from outside the process. Built only by
// scripts/fuzz.sh (`make fuzz`, and briefly by `make test`) with -sanitize=fuzzer,address, which
// gives each target libFuzzer's main; a plain `swift build` of the main package never builds them.
import PackageDescription

let common: Target.Dependency = .product(name: "PipelineCommon", package: "image-pipeline")
let driver: Target.Dependency = "FuzzDriver"

let package = Package(
    name: "pipeline-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "image-pipeline", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(
            name: "FuzzBucketNotification",
            dependencies: [common, driver, .product(name: "IngestStage", package: "image-pipeline")]),
        .executableTarget(
            name: "FuzzAnnotations",
            dependencies: [common, driver, .product(name: "IngestStage", package: "image-pipeline")]),
        .executableTarget(
            name: "FuzzConfig",
            dependencies: [common, driver, .product(name: "StageCommand", package: "image-pipeline")]),
        .executableTarget(
            name: "FuzzModelFile", dependencies: [common, driver, .product(name: "Learning", package: "image-pipeline")]),
        .executableTarget(name: "FuzzS3XML", dependencies: [common, driver]),
    ]
)
