import Foundation
import Logging
import PipelineCommon
import StageCommand
import TestSupport

@testable import IngestStage

/// An ingest stage on the embedded default: a file object store and SQLite, in a temporary
/// directory, configured through the same loader as the executables.
struct EmbeddedIngest {
    let dir: TemporaryDirectory
    let configuration: PipelineConfiguration
    let objects: any ObjectStore
    let manifests: any ManifestStore
    let ingestor: Ingestor

    static func make(yaml: String = "", environment: [String: String] = [:]) async throws -> EmbeddedIngest {
        let dir = try TemporaryDirectory()
        let file = try dir.write("pipeline.yaml", yaml)
        var env = [
            "PIPELINE_OBJECT_STORE_URL": "file://\(dir.path)/objects",
            "PIPELINE_MANIFEST_URL": "sqlite://\(dir.path)/manifest.db",
            "PIPELINE_STAGING_ROOT": dir.path + "/staging",
            "PIPELINE_STAGING_RESERVE_MIB": "0",
            "HOME": dir.path,
        ]
        env.merge(environment) { $1 }
        let configuration = try PipelineConfiguration.load(file: file, environment: env)
        let logger = Logger(label: "ingest-test")
        let objects = try FileObjectStore(root: dir.path + "/objects")
        let manifests = try await ManifestStoreFactory.openMigrated(configuration)
        return EmbeddedIngest(
            dir: dir, configuration: configuration, objects: objects, manifests: manifests,
            ingestor: Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger))
    }

    @discardableResult
    func upload(_ path: String, as key: String) async throws -> ObjectInfo {
        try await objects.put(key, fromFile: path, contentType: MediaType.forPath(key), sha256: nil)
    }

    func items(_ version: DatasetVersion) async throws -> [String: DatasetItem] {
        let items = try await manifests.items(of: version.id, after: nil, limit: 10_000)
        return Dictionary(uniqueKeysWithValues: items.map { ($0.sourceKey, $0) })
    }
}

/// One COCO file for images by file name: each gets one box labelled `label`.
func cocoFile(_ boxes: [(fileName: String, width: Int, height: Int, box: BoundingBox, label: String)]) throws -> Data {
    let dataset = AnnotationConverter.coco(
        images: boxes.map { ($0.fileName, $0.width, $0.height, [ImageAnnotation(label: $0.label, box: $0.box)]) })
    return try JSONEncoder().encode(dataset)
}

func decodeAnnotations(_ item: DatasetItem?) throws -> [ImageAnnotation] {
    try JSONDecoder().decode([ImageAnnotation].self, from: Data((item?.annotations ?? "[]").utf8))
}
