// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "image-pipeline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PipelineCommon", targets: ["PipelineCommon"]),
        .library(name: "IngestStage", targets: ["IngestStage"]),
        .library(name: "NormalizeStage", targets: ["NormalizeStage"]),
        .library(name: "TrainStage", targets: ["TrainStage"]),
        .library(name: "InferStage", targets: ["InferStage"]),
        // For the fuzz targets in Fuzz/ (the model file reader).
        .library(name: "Learning", targets: ["Learning"]),
        .library(name: "StageCommand", targets: ["StageCommand"]),
        .executable(name: "pipelinectl", targets: ["pipelinectl"]),
        .executable(name: "pipeline-ingest", targets: ["pipeline-ingest"]),
        .executable(name: "pipeline-normalize", targets: ["pipeline-normalize"]),
        .executable(name: "pipeline-train", targets: ["pipeline-train"]),
        .executable(name: "pipeline-infer", targets: ["pipeline-infer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // System libraries. Each shim header holds typed `static inline` wrappers for the
        // variadic or macro parts of the C API, so Swift never calls a variadic function.
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CVips", path: "Sources/CVips", pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]),
        // OpenBLAS, loaded on first use (libopenblas.so.0 from Debian's libopenblas0-pthread):
        // linked, it would start its spinning thread pool in every stage binary.
        .target(
            name: "COpenBLAS", path: "Sources/COpenBLAS", cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("dl")]),
        // libjpeg(-turbo) itself for JPEGs (libvips' dependency, headers from libvips-dev's
        // libjpeg-dev): decoding a 640x480 JPEG through libvips costs 1.7 ms, 0.6 ms directly.
        .target(
            name: "CJPEG", path: "Sources/CJPEG", cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("jpeg")]),
        // libpng itself for the small lossless variants (libvips' dependency, headers from
        // libvips-dev's libpng-dev): libvips' pngsave runs each save through its thread pool.
        .target(
            name: "CPNG", path: "Sources/CPNG", cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("png16")]),
        // Extended attributes from libc (no library to link).
        .systemLibrary(name: "CXattr", path: "Sources/CXattr"),
        // The Lanczos-3 resampler normalize uses for 8-bit images without alpha: libvips 8.14
        // resamples horizontally in scalar C (5.7 ms for 640x480 to 512x384 here, 0.9 ms for this).
        .target(name: "CResample", path: "Sources/CResample", cSettings: [.unsafeFlags(["-O2"])]),

        .target(
            name: "PipelineCommon",
            dependencies: [
                "CCurl", "CLibPQ", "CCrypto", "CJPEG", "CPNG", "CResample", "CSQLite", "CVips", "CXattr", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]),
        // The builtin model. Always optimised, even in debug builds, so that tests and the demo
        // train in seconds rather than minutes (Swift without -O is ~30x slower in these loops).
        .target(
            name: "Learning",
            dependencies: ["PipelineCommon", "COpenBLAS"],
            swiftSettings: [.unsafeFlags(["-O", "-enforce-exclusivity=unchecked"])]),
        .target(
            name: "StageCommand",
            dependencies: [
                "PipelineCommon", "IngestStage", "NormalizeStage", "TrainStage", "InferStage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "IngestStage",
            dependencies: [
                "PipelineCommon", "CVips",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "NormalizeStage",
            dependencies: [
                "PipelineCommon",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        .executableTarget(
            name: "pipeline-normalize",
            dependencies: [
                "PipelineCommon", "StageCommand", "NormalizeStage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(
            name: "TrainStage",
            dependencies: [
                "PipelineCommon", "Learning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .executableTarget(
            name: "pipeline-train",
            dependencies: [
                "PipelineCommon", "StageCommand", "TrainStage", "IngestStage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(
            name: "InferStage",
            dependencies: [
                "PipelineCommon", "Learning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .executableTarget(
            name: "pipeline-infer",
            dependencies: [
                "PipelineCommon", "StageCommand", "InferStage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "Orchestration",
            dependencies: [
                "PipelineCommon", "InferStage", "TrainStage", "Learning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .executableTarget(
            name: "pipelinectl",
            dependencies: [
                "PipelineCommon", "StageCommand", "Learning", "Orchestration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "pipeline-ingest",
            dependencies: [
                "PipelineCommon", "StageCommand", "IngestStage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        .executableTarget(
            name: "object-store-bench",
            dependencies: [
                "PipelineCommon",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ObjectStoreBenchmark"),
        .executableTarget(
            name: "manifest-bench",
            dependencies: [
                "PipelineCommon",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ManifestBenchmark"),
        .executableTarget(
            name: "normalize-bench",
            dependencies: ["PipelineCommon"],
            path: "Benchmarks/NormalizeBenchmark"),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "PipelineCommonTests",
            dependencies: [
                "PipelineCommon", "StageCommand", "TestSupport", "CVips",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
        .testTarget(
            name: "IngestStageTests",
            dependencies: [
                "IngestStage", "PipelineCommon", "StageCommand", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "NormalizeStageTests",
            dependencies: [
                "NormalizeStage", "IngestStage", "PipelineCommon", "StageCommand", "TestSupport", "CJPEG", "CResample", "CVips",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "OrchestrationTests",
            dependencies: ["Orchestration", "PipelineCommon", "StageCommand", "TestSupport"]),
        .testTarget(
            name: "LearningTests",
            dependencies: ["Learning", "PipelineCommon", "TestSupport"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "PipelineCommon", "IngestStage", "NormalizeStage", "TrainStage", "InferStage", "Learning",
                "Orchestration", "StageCommand", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
