import ArgumentParser
import Foundation
import Learning
import PipelineCommon
import StageCommand

/// `pipelinectl demo shapes`: the demo's dataset, straight into the configured object store.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Demo data.", subcommands: [Shapes.self])

    struct Shapes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Upload images of circles, squares and triangles (random colours, sizes, places, noise) and a Label Studio export of their classes."
        )
        @OptionGroup var options: GlobalOptions
        @Option(help: "How many images.") var count = 600
        @Option(help: "Seed: the same seed gives the same images.") var seed: UInt64 = 1
        @Option(help: "Side of each image in pixels.") var size = 64
        @Option(help: "Annotations as coco (a box around each shape) or label-studio (a class choice).")
        var format = "coco"

        func validate() throws {
            guard SyntheticShapes.AnnotationFormat(rawValue: format) != nil else {
                throw ValidationError("--format \(format) is not coco or label-studio")
            }
        }

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            do {
                let objects = try StageConnections(configuration, logger: logger).objects
                let work = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-\(UUID().uuidString)")
                    .path
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: work) }
                let raw = configuration.ingest.rawPrefix + "shapes/"
                let annotations = configuration.ingest.annotationsPrefix + "shapes-\(format).json"
                try await SyntheticShapes.upload(
                    count: count, seed: seed, size: size, to: objects, rawPrefix: raw, annotationsKey: annotations,
                    workDirectory: work, format: SyntheticShapes.AnnotationFormat(rawValue: format) ?? .coco)
                print(
                    "uploaded \(count) shape images to \(objects.location.uri(of: raw)) and their classes to \(annotations)"
                )
            } catch {
                FileHandle.standardError.write(Data("pipelinectl: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
