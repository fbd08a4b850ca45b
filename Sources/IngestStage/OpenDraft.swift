import Foundation
import PipelineCommon

/// The one open draft of a dataset that every ingest worker, on any machine, adds to, and
/// its hand-over to publishing, coordinated through a checkpoint that only changes from
/// the value a process last saw (``ManifestStore/replaceCheckpoint(stage:name:expected:value:)``).
///
/// - `open <id>`: workers add items to draft `<id>`.
/// - `publishing <id> <unix time>`: one process publishes `<id>`; workers wait for it
///   (a publisher silent for longer than the lease is presumed dead and its draft reopened).
/// - absent or empty: the next worker creates a draft seeded with the last published version.
struct OpenDraft: Sendable {
    enum State: Equatable {
        case none
        case open(String)
        case publishing(String, since: Double)
    }

    let store: any ManifestStore
    let dataset: String
    let configHash: String
    let config: String
    let lease: Duration

    private var draftName: String { "draft/" + dataset }
    private var publishedName: String { "published/" + dataset }

    func state() async throws -> (raw: String?, state: State) {
        let raw = try await store.checkpoint(stage: "ingest", name: draftName)
        return (raw, Self.parse(raw))
    }

    static func parse(_ raw: String?) -> State {
        let parts = (raw ?? "").split(separator: " ").map(String.init)
        switch (parts.first, parts.count) {
        case ("open", 2): return .open(parts[1])
        case ("publishing", 3): return .publishing(parts[1], since: Double(parts[2]) ?? 0)
        default: return .none
        }
    }

    /// The id of the open draft, creating it when there is none; waits while one is published.
    func current() async throws -> String {
        while true {
            try Task.checkCancellation()
            let (raw, state) = try await state()
            switch state {
            case .open(let id):
                if try await store.version(id)?.status == .draft { return id }
                // Its draft vanished (discarded by hand): start over.
                _ = try await store.replaceCheckpoint(stage: "ingest", name: draftName, expected: raw, value: "")
            case .publishing(let id, let since):
                if Date().timeIntervalSince1970 - since > lease.seconds {
                    _ = try await store.replaceCheckpoint(
                        stage: "ingest", name: draftName, expected: raw, value: "open \(id)")
                } else {
                    try await Task.sleep(for: .milliseconds(200))
                }
            case .none:
                if let id = try await create(replacing: raw) { return id }
            }
        }
    }

    /// The version the next draft starts from.
    func lastPublished() async throws -> String? {
        let id = try await store.checkpoint(stage: "ingest", name: publishedName)
        return id?.isEmpty == false ? id : nil
    }

    private func create(replacing raw: String?) async throws -> String? {
        let parent = try await lastPublished()
        let draft = try await store.createDraft(
            name: dataset, stage: "ingest", parents: parent.map { [$0] } ?? [], configHash: configHash, config: config)
        if let parent { try await store.copyItems(from: parent, to: draft.id) }
        if try await store.replaceCheckpoint(stage: "ingest", name: draftName, expected: raw, value: "open \(draft.id)")
        {
            return draft.id
        }
        // Another process opened one first: use that.
        try await store.discardDraft(draft.id)
        return nil
    }

    /// Takes the open draft `id` for publishing; false when another process has it.
    func beginPublishing(_ id: String) async throws -> Bool {
        try await store.replaceCheckpoint(
            stage: "ingest", name: draftName, expected: "open \(id)",
            value: "publishing \(id) \(Int(Date().timeIntervalSince1970))")
    }

    /// Records `version` as the dataset's latest and lets workers open the next draft.
    func endPublishing(_ id: String, published version: String) async throws {
        try await store.setCheckpoint(stage: "ingest", name: publishedName, value: version)
        let (raw, state) = try await state()
        if case .publishing(id, _) = state {
            _ = try await store.replaceCheckpoint(stage: "ingest", name: draftName, expected: raw, value: "")
        }
    }

    /// Gives the draft back to the workers after a failed publish.
    func abandonPublishing(_ id: String) async throws {
        let (raw, state) = try await state()
        if case .publishing(id, _) = state {
            _ = try await store.replaceCheckpoint(stage: "ingest", name: draftName, expected: raw, value: "open \(id)")
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
