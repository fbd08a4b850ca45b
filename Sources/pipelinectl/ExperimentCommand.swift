import ArgumentParser
import Foundation
import Orchestration
import StageCommand

/// `pipelinectl experiment`: dataset experiments fused with Combinatorial Fusion Analysis.
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Dataset experiments: fuse models' scores with Combinatorial Fusion Analysis.",
        subcommands: [Fuse.self])

    struct Fuse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fuse the models of a folder of scores files (one <model>.csv each) with CFA.",
            discussion: """
                Each file: split,id,label, then one score column per class (two classes: the second \
                is the positive one). DS, PS and the best fusion are chosen on the validation split; \
                test figures are those of that choice. See README, Combinatorial fusion.
                """)
        @Option(help: "The folder of scores files.") var scores: String
        @Flag(help: "Print the analysis as JSON.") var json = false

        func run() async throws {
            let tables: [ScoreTable]
            do {
                tables = try ScoreTable.load(directory: scores)
            } catch {
                throw ValidationError("\(error)")
            }
            let result = try await CommandRunner.failing(as: "pipelinectl") { try CombinatorialFusion.analyse(tables) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                print(result.text(), terminator: "")
            }
        }
    }
}
