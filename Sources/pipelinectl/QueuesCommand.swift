import ArgumentParser
import PipelineCommon
import StageCommand

struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues",
        abstract: "Operate the work queues the stages share.",
        subcommands: [Release.self])

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract:
                "Give back now the claims of a worker known to be gone (a lost host), instead of when their lease runs out.",
            discussion: """
                Stages take back the claims of a dead process on their own host by themselves; this is for a \
                worker whose host is gone. Worker names are <host>-<pid>-<start>-<pid namespace>, as the stages log them. \
                Never release a worker that is still running: its items would be processed twice.
                """)

        @OptionGroup var options: GlobalOptions
        @Option(help: "The worker whose claims to release, e.g. node-7-4242-981723-4026531836.") var worker: String
        @Option(help: "Only this queue (default: every queue).") var queue: String?

        func run() async throws {
            let store = try await DatasetsCommand.open(options)
            let released = try await store.releaseClaims(queue: queue, worker: worker)
            print("released \(released) claim(s) of \(worker)" + (queue.map { " in \($0)" } ?? ""))
        }
    }
}
