import Foundation

/// The embedded manifest store: one SQLite file in WAL mode, for one machine (several
/// processes may share it; writers queue on SQLite's lock).
public struct SQLiteManifestStore: ManifestStore {
    public let database: SQLiteDatabase
    /// Failures after which a work item is dead.
    public let maxAttempts: Int

    /// Unix time in seconds with a fraction, in SQL.
    static let now = "((julianday('now') - 2440587.5) * 86400.0)"

    public static func open(path: String, maxAttempts: Int = 5, lockTimeout: Duration = .seconds(30)) async throws
        -> SQLiteManifestStore
    {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return SQLiteManifestStore(
            database: try await SQLiteDatabase.open(path: path, lockTimeout: lockTimeout), maxAttempts: maxAttempts)
    }

    public init(database: SQLiteDatabase, maxAttempts: Int = 5) {
        self.database = database
        self.maxAttempts = maxAttempts
    }

    // MARK: - Migrations

    public func migrate() async throws -> [Int] {
        try await database.transaction { db in
            // BEGIN IMMEDIATE holds the write lock: a second process migrating waits, then finds nothing to do.
            try db.run(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            let applied = Set(try db.run("SELECT version FROM schema_migrations").compactMap { $0[0].integer })
            var done: [Int] = []
            for migration in SQLiteMigrations.all where !applied.contains(Int64(migration.version)) {
                for statement in migration.sql { try db.run(statement) }
                try db.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, \(Self.now))",
                    [.integer(Int64(migration.version)), .text(migration.name)])
                done.append(migration.version)
            }
            return done
        }
    }

    public func schemaVersion() async throws -> Int {
        let exists = try await database.query(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard exists.first?.first?.integer == 1 else { return 0 }
        return Int(
            try await database.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").first?.first?.integer
                ?? 0)
    }

    // MARK: - Versions

    static let versionColumns = """
        v.id, v.name, v.stage, v.config_hash, v.config, v.status,
        CASE WHEN v.status = 'published' THEN v.item_count ELSE (SELECT count(*) FROM items i WHERE i.version_seq = v.seq) END,
        v.content_digest, v.manifest_uri, v.created_at, v.published_at,
        (SELECT group_concat(id, char(10)) FROM (
            SELECT pv.id FROM dataset_parents p JOIN dataset_versions pv ON pv.seq = p.parent_seq
            WHERE p.version_seq = v.seq ORDER BY p.position))
        """

    static func version(from row: [SQLiteDatabase.Value]) -> DatasetVersion {
        DatasetVersion(
            id: row[0].text ?? "", name: row[1].text ?? "", stage: row[2].text ?? "",
            parents: (row[11].text ?? "").split(separator: "\n").map(String.init), configHash: row[3].text ?? "",
            config: row[4].text ?? "", status: DatasetVersion.Status(rawValue: row[5].text ?? "") ?? .draft,
            itemCount: Int(row[6].integer ?? 0), contentDigest: row[7].text, manifestURI: row[8].text,
            createdAt: Date(timeIntervalSince1970: row[9].real ?? 0),
            publishedAt: row[10].real.map { Date(timeIntervalSince1970: $0) })
    }

    /// The internal row number and status of version `id`.
    static func find(_ id: String, _ db: SQLiteDatabase.Connection) throws -> (seq: Int64, status: String)? {
        try db.run("SELECT seq, status FROM dataset_versions WHERE id = ?1", [.text(id)]).first.map {
            ($0[0].integer ?? 0, $0[1].text ?? "")
        }
    }

    public func createDraft(name: String, stage: String, parents: [String], configHash: String, config: String)
        async throws
        -> DatasetVersion
    {
        let id = "draft-" + UUID().uuidString.lowercased()
        try await database.transaction { db in
            var parentSeqs: [Int64] = []
            for parent in parents {
                guard let found = try Self.find(parent, db) else {
                    throw ManifestStoreError(.notFound, "parent dataset version \(parent) does not exist")
                }
                parentSeqs.append(found.seq)
            }
            let seq =
                try db.run(
                    """
                    INSERT INTO dataset_versions (id, name, stage, config_hash, config, status, created_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, 'draft', \(Self.now)) RETURNING seq
                    """, [.text(id), .text(name), .text(stage), .text(configHash), .text(config)]
                ).first?.first?.integer ?? 0
            try db.runBatch(
                "INSERT INTO dataset_parents (version_seq, parent_seq, position) VALUES (?1, ?2, ?3)",
                parentSeqs.enumerated().map { [.integer(seq), .integer($0.element), .integer(Int64($0.offset))] })
        }
        guard let version = try await version(id) else { throw ManifestStoreError(.database, "draft \(id) vanished") }
        return version
    }

    public func addItems(_ items: [DatasetItem], to versionId: String) async throws {
        try ManifestValidation.check(items)
        try await database.transaction { db in
            let seq = try Self.requireDraft(versionId, db)
            try db.runBatch(
                """
                INSERT OR REPLACE INTO items
                (version_seq, source_key, sha256, size, width, height, format, annotations, variants, status, reason)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                """,
                items.map { item in
                    [
                        .integer(seq), .utf8(item.sourceKey), .text(item.sha256), .integer(Int64(item.size)),
                        .optional(item.width), .optional(item.height), .optional(item.format), .text(item.annotations),
                        .text(item.variantsJSON), .text(item.status.rawValue), .optional(item.reason),
                    ]
                })
        }
    }

    @discardableResult
    static func requireDraft(_ id: String, _ db: SQLiteDatabase.Connection) throws -> Int64 {
        guard let found = try find(id, db) else {
            throw ManifestStoreError(.notFound, "dataset version \(id) does not exist")
        }
        guard found.status == "draft" else {
            throw ManifestStoreError(
                .immutable, "dataset version \(id) is published and immutable; create a new draft instead")
        }
        return found.seq
    }

    public func copyItems(from source: String, to draftId: String) async throws -> Int {
        try await database.transaction { db in
            let target = try Self.requireDraft(draftId, db)
            guard let from = try Self.find(source, db) else {
                throw ManifestStoreError(.notFound, "dataset version \(source) does not exist")
            }
            return try db.run(
                """
                INSERT OR IGNORE INTO items SELECT ?1, source_key, sha256, size, width, height, format, annotations,
                    variants, status, reason
                FROM items WHERE version_seq = ?2 RETURNING 1
                """, [.integer(target), .integer(from.seq)]
            ).count
        }
    }

    public func items(of versionId: String, after: String?, limit: Int) async throws -> [DatasetItem] {
        let rows = try await database.query(
            """
            SELECT source_key, sha256, size, width, height, format, annotations, variants, status, reason
            FROM items WHERE version_seq = (SELECT seq FROM dataset_versions WHERE id = ?1)
              AND (?2 IS NULL OR source_key > ?2) ORDER BY source_key LIMIT ?3
            """, [.text(versionId), after.map { .utf8($0) } ?? .null, .integer(Int64(limit))])
        // Decoding each item's variants (JSON) is most of the cost of a large page: on every core.
        return try await concurrentChunkedMap(rows) { row in
            DatasetItem(
                sourceKey: row[0].blobText ?? "", sha256: row[1].text ?? "", size: UInt64(row[2].integer ?? 0),
                width: row[3].integer.map(Int.init), height: row[4].integer.map(Int.init), format: row[5].text,
                annotations: row[6].text ?? "[]", variants: DatasetItem.decodeVariants(row[7].text ?? "{}"),
                status: DatasetItem.Status(rawValue: row[8].text ?? "") ?? .ok, reason: row[9].text)
        }
    }

    public func removeItems(sourceKeys: [String], reason: String, from draftId: String) async throws -> Int {
        try await database.transaction { db in
            let seq = try Self.requireDraft(draftId, db)
            var removed = 0
            for key in sourceKeys {
                let range = RemovedItem.augmentedRange(of: key)
                let count = try db.run(
                    """
                    DELETE FROM items WHERE version_seq = ?1 AND (source_key = ?2 OR (source_key >= ?3 AND source_key < ?4))
                    RETURNING 1
                    """, [.integer(seq), .utf8(key), .utf8(range.from), .utf8(range.to)]
                ).count
                guard count > 0 else { continue }
                removed += count
                try db.run(
                    "INSERT OR REPLACE INTO removed_items (version_seq, source_key, reason) VALUES (?1, ?2, ?3)",
                    [.integer(seq), .utf8(key), .text(reason)])
            }
            return removed
        }
    }

    public func removedItems(of versionId: String) async throws -> [RemovedItem] {
        try await database.query(
            """
            SELECT source_key, reason FROM removed_items
            WHERE version_seq = (SELECT seq FROM dataset_versions WHERE id = ?1) ORDER BY source_key
            """, [.text(versionId)]
        ).map { RemovedItem(sourceKey: $0[0].blobText ?? "", reason: $0[1].text ?? "") }
    }

    public func version(_ id: String) async throws -> DatasetVersion? {
        try await database.query("SELECT \(Self.versionColumns) FROM dataset_versions v WHERE v.id = ?1", [.text(id)])
            .first.map(Self.version(from:))
    }

    public func versions(name: String?, stage: String?, limit: Int) async throws -> [DatasetVersion] {
        try await database.query(
            """
            SELECT \(Self.versionColumns) FROM dataset_versions v
            WHERE (?1 IS NULL OR v.name = ?1) AND (?2 IS NULL OR v.stage = ?2)
            ORDER BY v.created_at DESC, v.seq DESC LIMIT ?3
            """, [.optional(name), .optional(stage), .integer(Int64(limit))]
        ).map(Self.version(from:))
    }

    static func deleteDraft(_ seq: Int64, _ db: SQLiteDatabase.Connection) throws {
        try db.run("DELETE FROM items WHERE version_seq = ?1", [.integer(seq)])
        try db.run("DELETE FROM removed_items WHERE version_seq = ?1", [.integer(seq)])
        try db.run("DELETE FROM dataset_parents WHERE version_seq = ?1", [.integer(seq)])
        try db.run("DELETE FROM dataset_versions WHERE seq = ?1 AND status = 'draft'", [.integer(seq)])
    }

    public func publish(
        draft: String, as finalId: String, contentDigest: String, manifestURI: String, checkpoint: ManifestCheckpoint?
    ) async throws -> DatasetVersion {
        try await database.transaction { db in
            if let checkpoint {
                try db.run(
                    """
                    INSERT INTO checkpoints (stage, name, value, updated_at) VALUES (?1, ?2, ?3, \(Self.now))
                    ON CONFLICT (stage, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """, [.text(checkpoint.stage), .text(checkpoint.name), .utf8(checkpoint.value)])
            }
            if let existing = try Self.find(finalId, db), existing.status == "published" {
                // Same content, same configuration: the version exists; this draft was a re-run.
                if draft != finalId, let found = try Self.find(draft, db), found.status == "draft" {
                    try Self.deleteDraft(found.seq, db)
                }
                return
            }
            let seq = try Self.requireDraft(draft, db)
            // Items hang off the row number, so renaming the version moves no item.
            try db.run(
                """
                UPDATE dataset_versions SET id = ?2, status = 'published', content_digest = ?3, manifest_uri = ?4,
                    published_at = \(Self.now), item_count = (SELECT count(*) FROM items WHERE version_seq = ?1)
                WHERE seq = ?1
                """, [.integer(seq), .text(finalId), .text(contentDigest), .text(manifestURI)])
        }
        guard let version = try await version(finalId) else {
            throw ManifestStoreError(.database, "published version \(finalId) vanished")
        }
        return version
    }

    public func discardDraft(_ id: String) async throws {
        try await database.transaction { db in
            try Self.deleteDraft(try Self.requireDraft(id, db), db)
        }
    }

    public func lineage(of id: String) async throws -> Lineage {
        guard let version = try await version(id) else {
            throw ManifestStoreError(.notFound, "dataset version \(id) does not exist")
        }
        func walk(_ sql: String) async throws -> [(DatasetVersion, Int)] {
            try await database.query(
                "WITH RECURSIVE \(sql) SELECT \(Self.versionColumns), g.depth FROM graph g JOIN dataset_versions v ON v.seq = g.seq ORDER BY g.depth, v.id",
                [.text(id)]
            ).map { (Self.version(from: $0), Int($0[12].integer ?? 0)) }
        }
        let ancestors = try await walk(
            """
            walk(seq, depth) AS (
                SELECT p.parent_seq, 1 FROM dataset_parents p JOIN dataset_versions v ON v.seq = p.version_seq WHERE v.id = ?1
                UNION SELECT p.parent_seq, w.depth + 1 FROM dataset_parents p JOIN walk w ON p.version_seq = w.seq WHERE w.depth < 100
            ), graph AS (SELECT seq, MIN(depth) AS depth FROM walk GROUP BY seq)
            """)
        let descendants = try await walk(
            """
            walk(seq, depth) AS (
                SELECT p.version_seq, 1 FROM dataset_parents p JOIN dataset_versions v ON v.seq = p.parent_seq WHERE v.id = ?1
                UNION SELECT p.version_seq, w.depth + 1 FROM dataset_parents p JOIN walk w ON p.parent_seq = w.seq WHERE w.depth < 100
            ), graph AS (SELECT seq, MIN(depth) AS depth FROM walk GROUP BY seq)
            """)
        return Lineage(
            version: version, ancestors: ancestors.map { ($0.0, $0.1) }, descendants: descendants.map { ($0.0, $0.1) })
    }

    // MARK: - Checkpoints

    public func checkpoint(stage: String, name: String) async throws -> String? {
        try await database.query(
            "SELECT value FROM checkpoints WHERE stage = ?1 AND name = ?2", [.text(stage), .text(name)]
        ).first?.first?.blobText
    }

    public func setCheckpoint(stage: String, name: String, value: String) async throws {
        try await database.query(
            """
            INSERT INTO checkpoints (stage, name, value, updated_at) VALUES (?1, ?2, ?3, \(Self.now))
            ON CONFLICT (stage, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, [.text(stage), .text(name), .utf8(value)])
    }

    public func replaceCheckpoint(stage: String, name: String, expected: String?, value: String) async throws -> Bool {
        let rows: [[SQLiteDatabase.Value]]
        if let expected {
            rows = try await database.query(
                """
                UPDATE checkpoints SET value = ?4, updated_at = \(Self.now)
                WHERE stage = ?1 AND name = ?2 AND value = ?3 RETURNING 1
                """, [.text(stage), .text(name), .utf8(expected), .utf8(value)])
        } else {
            rows = try await database.query(
                """
                INSERT INTO checkpoints (stage, name, value, updated_at) VALUES (?1, ?2, ?3, \(Self.now))
                ON CONFLICT (stage, name) DO NOTHING RETURNING 1
                """, [.text(stage), .text(name), .utf8(value)])
        }
        return rows.count == 1
    }

    // MARK: - Work queues

    public func enqueue(queue: String, items: [(key: String, payload: String)]) async throws -> Int {
        try ManifestValidation.check(payloads: items.map(\.payload))
        let rows: [[SQLiteDatabase.Value]] = items.map { [.text(queue), .utf8($0.key), .text($0.payload)] }
        return try await database.transaction { db in
            let before = try db.run("SELECT total_changes()").first?.first?.integer ?? 0
            try db.runBatch(
                """
                INSERT INTO work_items (queue, key, payload, state, enqueued_at)
                VALUES (?1, ?2, ?3, 'available', \(Self.now)) ON CONFLICT (queue, key) DO NOTHING
                """, rows)
            let after = try db.run("SELECT total_changes()").first?.first?.integer ?? 0
            return Int(after - before)
        }
    }

    public func claimBatch(queue: String, worker: String, limit: Int, lease: Duration) async throws -> [ClaimedWork] {
        let leaseSeconds = Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18
        let maxAttempts = Int64(self.maxAttempts)
        return try await database.transaction { db in
            // A worker that died on an item's last attempt leaves it claimed: it is dead now.
            try db.run(
                """
                UPDATE work_items SET state = 'dead', last_error = COALESCE(last_error, 'lease expired on the last attempt'),
                    completed_at = \(Self.now)
                WHERE queue = ?1 AND state = 'claimed' AND lease_expires_at < \(Self.now) AND attempts >= ?2
                """, [.text(queue), .integer(maxAttempts)])
            let rows = try db.run(
                """
                UPDATE work_items SET state = 'claimed', claimed_by = ?2, attempts = attempts + 1,
                    lease_expires_at = \(Self.now) + ?3, claimed_at = \(Self.now)
                WHERE rowid IN (
                    SELECT rowid FROM work_items
                    WHERE queue = ?1 AND attempts < ?4 AND state IN ('available', 'claimed')
                      AND (state = 'available' OR (state = 'claimed' AND lease_expires_at < \(Self.now)))
                    ORDER BY key LIMIT ?5)
                RETURNING key, payload, attempts
                """, [.text(queue), .text(worker), .real(leaseSeconds), .integer(maxAttempts), .integer(Int64(limit))])
            return rows.map {
                ClaimedWork(key: $0[0].blobText ?? "", payload: $0[1].text ?? "", attempt: Int($0[2].integer ?? 0))
            }.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
    }

    public func complete(queue: String, worker: String, keys: [String]) async throws -> [String] {
        try await database.transaction { db in
            var completed: [String] = []
            for key in keys {
                let rows = try db.run(
                    """
                    UPDATE work_items SET state = 'completed', completed_at = \(Self.now), lease_expires_at = NULL
                    WHERE queue = ?1 AND key = ?2 AND claimed_by = ?3 AND state = 'claimed' RETURNING key
                    """, [.text(queue), .utf8(key), .text(worker)])
                if !rows.isEmpty { completed.append(key) }
            }
            return completed
        }
    }

    public func fail(queue: String, worker: String, failures: [(key: String, error: String)]) async throws {
        let maxAttempts = Int64(self.maxAttempts)
        let rows: [[SQLiteDatabase.Value]] = failures.map {
            [.text(queue), .utf8($0.key), .text(worker), .text($0.error), .integer(maxAttempts)]
        }
        try await database.transaction { db in
            try db.runBatch(
                """
                UPDATE work_items SET state = CASE WHEN attempts >= ?5 THEN 'dead' ELSE 'available' END,
                    completed_at = CASE WHEN attempts >= ?5 THEN \(Self.now) END,
                    last_error = ?4, claimed_by = NULL, lease_expires_at = NULL
                WHERE queue = ?1 AND key = ?2 AND claimed_by = ?3 AND state = 'claimed'
                """, rows)
        }
    }

    public func giveBack(queue: String, worker: String, failures: [(key: String, error: String)]) async throws {
        let rows: [[SQLiteDatabase.Value]] = failures.map {
            [.text(queue), .utf8($0.key), .text(worker), .text($0.error)]
        }
        try await database.transaction { db in
            try db.runBatch(
                """
                UPDATE work_items SET state = 'available', attempts = max(attempts - 1, 0), last_error = ?4,
                    claimed_by = NULL, lease_expires_at = NULL
                WHERE queue = ?1 AND key = ?2 AND claimed_by = ?3 AND state = 'claimed'
                """, rows)
        }
    }

    public func claimHolders(queue: String) async throws -> [String] {
        try await database.query(
            """
            SELECT DISTINCT claimed_by FROM work_items
            WHERE queue = ?1 AND state IN ('available', 'claimed') AND state = 'claimed'
              AND lease_expires_at >= \(Self.now)
            """, [.text(queue)]
        ).compactMap { $0[0].text }
    }

    public func releaseClaims(queue: String?, worker: String) async throws -> Int {
        try await database.transaction { db in
            try db.run(
                """
                UPDATE work_items SET lease_expires_at = \(Self.now) - 1
                WHERE (?1 IS NULL OR queue = ?1) AND claimed_by = ?2 AND state = 'claimed'
                  AND lease_expires_at >= \(Self.now)
                RETURNING key
                """, [queue.map { .text($0) } ?? .null, .text(worker)]
            ).count
        }
    }

    public func queueCounts(queue: String) async throws -> [WorkState: Int] {
        var counts = Dictionary(uniqueKeysWithValues: WorkState.allCases.map { ($0, 0) })
        for row in try await database.query(
            "SELECT state, count(*) FROM work_items WHERE queue = ?1 GROUP BY state", [.text(queue)])
        {
            if let state = WorkState(rawValue: row[0].text ?? "") { counts[state] = Int(row[1].integer ?? 0) }
        }
        return counts
    }

    public func forgetCompleted(queue: String, object: String) async throws -> Int {
        let prefix = Array((object + "@").utf8)
        return try await database.transaction { db in
            try db.run(
                """
                DELETE FROM work_items WHERE queue = ?1 AND state = 'completed' AND key >= ?2 AND key < ?3
                  AND instr(substr(key, ?4), X'40') = 0
                RETURNING 1
                """,
                [
                    .text(queue), .blob(prefix), .utf8(object + "A"), .integer(Int64(prefix.count + 1)),
                ]
            ).count
        }
    }

    // MARK: - Housekeeping

    public func queueSummaries(queue: String?) async throws -> [QueueSummary] {
        let filter: SQLiteDatabase.Value = queue.map { .text($0) } ?? .null
        return try await database.transaction { db in
            var claims: [String: QueueSummary.Claim] = [:]
            for row in try db.run(
                """
                SELECT queue, claimed_by, key, claimed_at, lease_expires_at, attempts FROM (
                    SELECT queue, claimed_by, key, claimed_at, lease_expires_at, attempts, row_number() OVER (
                        PARTITION BY queue ORDER BY claimed_at IS NULL, claimed_at, lease_expires_at) AS n
                    FROM work_items WHERE state IN ('available', 'claimed') AND state = 'claimed'
                      AND (?1 IS NULL OR queue = ?1))
                WHERE n = 1
                """, [filter])
            {
                claims[row[0].text ?? ""] = QueueSummary.Claim(
                    worker: row[1].text ?? "", key: row[2].blobText ?? "", claimedAt: row[3].real.map(Self.date),
                    leaseExpiresAt: Self.date(row[4].real ?? 0), attempt: Int(row[5].integer ?? 0))
            }
            return try db.run(
                """
                SELECT queue, sum(state = 'available'), sum(state = 'claimed'), sum(state = 'completed'),
                    sum(state = 'dead'), min(CASE WHEN state = 'available' THEN enqueued_at END), max(completed_at)
                FROM work_items WHERE ?1 IS NULL OR queue = ?1 GROUP BY queue ORDER BY queue
                """, [filter]
            ).map { row in
                let name = row[0].text ?? ""
                return QueueSummary(
                    queue: name,
                    counts: [
                        .available: Int(row[1].integer ?? 0), .claimed: Int(row[2].integer ?? 0),
                        .completed: Int(row[3].integer ?? 0), .dead: Int(row[4].integer ?? 0),
                    ], oldestAvailable: row[5].real.map(Self.date), oldestClaim: claims[name],
                    lastFinished: row[6].real.map(Self.date))
            }
        }
    }

    public func deadWork(queue: String, limit: Int) async throws -> [DeadWork] {
        try await database.query(
            """
            SELECT key, attempts, last_error, completed_at FROM work_items WHERE queue = ?1 AND state = 'dead'
            ORDER BY completed_at DESC NULLS LAST, key LIMIT ?2
            """, [.text(queue), .integer(Int64(limit))]
        ).map {
            DeadWork(
                key: $0[0].blobText ?? "", attempts: Int($0[1].integer ?? 0), lastError: $0[2].text ?? "",
                diedAt: $0[3].real.map(Self.date))
        }
    }

    public func pruneWork(_ policy: WorkPrunePolicy) async throws -> WorkPruneReport {
        let filter: SQLiteDatabase.Value = policy.queue.map { .text($0) } ?? .null
        let cutoff = SQLiteDatabase.Value.real(policy.cutoff.timeIntervalSince1970)
        return try await database.transaction { db in
            var report = WorkPruneReport()
            // Finished queues, deleted whole (never a versioned one: its completed items are its memory).
            let finished = try db.run(
                """
                SELECT queue, sum(state = 'completed'), sum(state = 'dead') FROM work_items
                WHERE ?1 IS NULL OR queue = ?1 GROUP BY queue
                HAVING sum(state IN ('available', 'claimed')) = 0
                   AND max(COALESCE(completed_at, enqueued_at)) < ?2
                """, [filter, cutoff])
            for row in finished {
                guard let name = row[0].text, !policy.isVersioned(name) else { continue }
                try db.run("DELETE FROM work_items WHERE queue = ?1", [.text(name)])
                report.queues += 1
                report.completed += Int(row[1].integer ?? 0)
                report.dead += Int(row[2].integer ?? 0)
            }
            try db.run(
                """
                DELETE FROM work_items WHERE (?1 IS NULL OR queue = ?1) AND state = 'dead'
                  AND COALESCE(completed_at, enqueued_at) < ?2
                """, [filter, cutoff])
            report.dead += Int(try db.run("SELECT changes()").first?.first?.integer ?? 0)
            // Versioned queues: a completed `<object>@<version>` with a newer completed version of
            // the same object (the part of the key before its last `@`).
            let versioned = try db.run(
                "SELECT DISTINCT queue FROM work_items WHERE (?1 IS NULL OR queue = ?1) AND state = 'completed'",
                [filter]
            ).compactMap { $0[0].text }.filter(policy.isVersioned)
            for name in versioned {
                try db.run(
                    """
                    DELETE FROM work_items WHERE rowid IN (
                        SELECT rowid FROM (
                            SELECT rowid, completed_at, row_number() OVER (
                                PARTITION BY CASE WHEN instr(k, '@') > 0 THEN rtrim(k, replace(k, '@', '')) ELSE k END
                                ORDER BY completed_at DESC, rowid DESC) AS n
                            FROM (SELECT rowid, completed_at, CAST(key AS TEXT) AS k FROM work_items
                                  WHERE queue = ?1 AND state = 'completed'))
                        WHERE n > 1 AND completed_at < ?2)
                    """, [.text(name), cutoff])
                report.completed += Int(try db.run("SELECT changes()").first?.first?.integer ?? 0)
            }
            return report
        }
    }

    private static func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }
}
