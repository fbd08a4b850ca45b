import ArgumentParser
import Foundation
import PipelineCommon
import StageCommand

struct DatasetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets", abstract: "Inspect dataset versions in the manifest store.",
        subcommands: [List.self, Show.self, LineageCommand.self])

    static func open(_ options: GlobalOptions) async throws -> any ManifestStore {
        let (configuration, _) = try options.bootstrap()
        let store = try await ManifestStoreFactory.make(configuration)
        try await store.migrate()
        return store
    }

    static func printJSON(_ value: some Encodable) throws {
        print(String(decoding: try JSONEncoder.snakeCase(pretty: true).encode(value), as: UTF8.self))
    }

    static func date(_ date: Date?) -> String { date.map(UTCTime.format) ?? "-" }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dataset versions, newest first.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Only versions of this dataset name.") var name: String?
        @Option(help: "Only versions made by this stage.") var stage: String?
        @Option(help: "At most this many versions.") var limit: Int = 50
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let store = try await DatasetsCommand.open(options)
            let versions = try await store.versions(name: name, stage: stage, limit: limit)
            if json { return try DatasetsCommand.printJSON(versions) }
            let rows = versions.map {
                [
                    $0.id, $0.name, $0.stage, $0.status.rawValue, "\($0.itemCount)", DatasetsCommand.date($0.createdAt),
                    $0.parents.joined(separator: ","),
                ]
            }
            print(
                Table.render(
                    header: ["ID", "NAME", "STAGE", "STATUS", "ITEMS", "CREATED (UTC)", "PARENTS"], rows: rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one version and a sample of its items.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Version id.") var id: String
        @Option(help: "Items to list.") var items: Int = 20
        @Flag(help: "Print JSON.") var json = false

        static func row(_ item: DatasetItem) -> [String] {
            let status = item.status == .ok ? "ok" : "rejected: \(item.reason ?? "")"
            var size = "-"
            if let width = item.width, let height = item.height { size = "\(width)x\(height)" }
            return [item.sourceKey, status, "\(item.size)", size, item.format ?? "-", String(item.sha256.prefix(12))]
        }

        func run() async throws {
            let store = try await DatasetsCommand.open(options)
            guard let version = try await store.version(id) else {
                FileHandle.standardError.write(
                    Data("pipelinectl: no dataset version \(id); see `pipelinectl datasets list`\n".utf8))
                throw ExitCode.failure
            }
            let sample = try await store.items(of: id, after: nil, limit: items)
            if json {
                struct Shown: Encodable {
                    let version: DatasetVersion
                    let items: [DatasetItem]
                }
                return try DatasetsCommand.printJSON(Shown(version: version, items: sample))
            }
            print(
                Table.render(
                    header: ["FIELD", "VALUE"],
                    rows: [
                        ["id", version.id], ["name", version.name], ["stage", version.stage],
                        ["status", version.status.rawValue],
                        ["items", "\(version.itemCount)"], ["parents", version.parents.joined(separator: ", ")],
                        ["config hash", version.configHash], ["content digest", version.contentDigest ?? "-"],
                        ["manifest", version.manifestURI ?? "-"], ["created", DatasetsCommand.date(version.createdAt)],
                        ["published", DatasetsCommand.date(version.publishedAt)],
                    ]))
            if !sample.isEmpty {
                print("")
                print(
                    Table.render(
                        header: ["SOURCE KEY", "STATUS", "SIZE", "WxH", "FORMAT", "SHA256"],
                        rows: sample.map(Self.row)))
            }
        }
    }

    struct LineageCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lineage", abstract: "Show what a version was made from and what was made from it.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Version id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let store = try await DatasetsCommand.open(options)
            let lineage = try await store.lineage(of: id)
            var removed: [String: [RemovedItem]] = [:]
            for version in [lineage.version] + lineage.ancestors.map(\.version) + lineage.descendants.map(\.version) {
                removed[version.id] = try await store.removedItems(of: version.id)
            }
            if json {
                struct Entry: Encodable {
                    let id: String
                    let stage: String
                    let depth: Int
                    let removed: [RemovedItem]
                }
                struct Shown: Encodable {
                    let version: String
                    let removed: [RemovedItem]
                    let ancestors: [Entry]
                    let descendants: [Entry]
                }
                return try DatasetsCommand.printJSON(
                    Shown(
                        version: id, removed: removed[id] ?? [],
                        ancestors: lineage.ancestors.map {
                            Entry(
                                id: $0.version.id, stage: $0.version.stage, depth: $0.depth,
                                removed: removed[$0.version.id] ?? [])
                        },
                        descendants: lineage.descendants.map {
                            Entry(
                                id: $0.version.id, stage: $0.version.stage, depth: $0.depth,
                                removed: removed[$0.version.id] ?? [])
                        }))
            }
            func row(_ depth: String, _ version: DatasetVersion) -> [String] {
                [depth, version.id, version.stage, version.status.rawValue, "\(removed[version.id]?.count ?? 0)"]
            }
            let rows =
                lineage.ancestors.reversed().map { row("-\($0.depth)", $0.version) } + [row("0", lineage.version)]
                + lineage.descendants.map { row("+\($0.depth)", $0.version) }
            print(Table.render(header: ["DEPTH", "ID", "STAGE", "STATUS", "REMOVED"], rows: rows))
            if let own = removed[id], !own.isEmpty {
                print("")
                print("\(id) took out of the version it was seeded from:")
                for item in own { print("  \(item.sourceKey): \(item.reason)") }
            }
        }
    }
}

/// Plain-text tables with aligned columns.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return all.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
