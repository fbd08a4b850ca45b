import Foundation

/// The production manifest store: PostgreSQL over libpq, shared by N workers on N machines.
/// Every value is a parameter (or a COPY field); bulk item writes use COPY; work claims use
/// `FOR UPDATE SKIP LOCKED` in a single statement, as River does.
public struct PostgresManifestStore: ManifestStore {
    public let pool: PostgresConnectionPool
    private let uri: Secret
    public let maxAttempts: Int

    public init(uri: Secret, poolSize: Int = 4, maxAttempts: Int = 5) {
        self.uri = uri
        self.pool = PostgresConnectionPool(uri: uri, maxConnections: poolSize)
        self.maxAttempts = maxAttempts
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection.Session) throws -> T) async throws
        -> T
    {
        try await pool.withConnection { connection in try await connection.transaction(body) }
    }

    @discardableResult
    private func query(_ sql: String, _ parameters: [String?] = []) async throws -> PostgresConnection.Rows {
        try await pool.withConnection { connection in try await connection.query(sql, parameters) }
    }

    // MARK: - Migrations

    public func migrate() async throws -> [Int] {
        // A dedicated session holds the advisory lock for the whole run.
        let connection = try await PostgresConnection.connect(uri: uri)
        // Taken with pg_try_advisory_lock and an async pause between tries, never by waiting in
        // pg_advisory_lock: a wait there holds a database thread, and with every thread of the
        // pool so held, the session that has the lock could not get one to give it back (the
        // tests' many concurrent migrations once deadlocked so).
        while try await connection.query(
            "SELECT pg_try_advisory_lock($1)", ["\(PostgresMigrations.advisoryLockKey)"]
        ).values.first?.first != "t" {
            try await Task.sleep(for: .milliseconds(50))
        }
        do {
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            let applied = Set(
                try await connection.query("SELECT version FROM schema_migrations").values.compactMap {
                    $0[0].flatMap { Int($0) }
                })
            var done: [Int] = []
            for migration in PostgresMigrations.all where !applied.contains(migration.version) {
                try await connection.transaction { session in
                    for statement in migration.sql { try session.query(statement) }
                    try session.query(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        ["\(migration.version)", migration.name])
                }
                done.append(migration.version)
            }
            try await connection.query("SELECT pg_advisory_unlock($1)", ["\(PostgresMigrations.advisoryLockKey)"])
            return done
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock($1)", ["\(PostgresMigrations.advisoryLockKey)"])
            throw error
        }
    }

    public func schemaVersion() async throws -> Int {
        let exists = try await query("SELECT to_regclass('schema_migrations') IS NOT NULL")
        guard exists.values.first?.first == "t" else { return 0 }
        return Int(
            try await query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").values.first?.first??.description
                ?? "0") ?? 0
    }

    // MARK: - Versions

    static let versionColumns = """
        v.id, v.name, v.stage, v.config_hash, v.config, v.status,
        CASE WHEN v.status = 'published' THEN v.item_count ELSE (SELECT count(*) FROM items i WHERE i.version_seq = v.seq) END,
        v.content_digest, v.manifest_uri, extract(epoch FROM v.created_at), extract(epoch FROM v.published_at),
        (SELECT string_agg(pv.id, E'\\n' ORDER BY p.position) FROM dataset_parents p
            JOIN dataset_versions pv ON pv.seq = p.parent_seq WHERE p.version_seq = v.seq)
        """

    static func version(from row: [String?]) -> DatasetVersion {
        DatasetVersion(
            id: row[0] ?? "", name: row[1] ?? "", stage: row[2] ?? "",
            parents: (row[11] ?? "").split(separator: "\n").map(String.init), configHash: row[3] ?? "",
            config: row[4] ?? "", status: DatasetVersion.Status(rawValue: row[5] ?? "") ?? .draft,
            itemCount: Int(row[6] ?? "0") ?? 0, contentDigest: row[7], manifestURI: row[8],
            createdAt: Date(timeIntervalSince1970: Double(row[9] ?? "0") ?? 0),
            publishedAt: row[10].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) })
    }

    /// The row number and status of version `id`, locked as asked.
    static func find(_ id: String, _ session: PostgresConnection.Session, lock: String = "") throws -> (
        seq: Int64, status: String
    )? {
        try session.query("SELECT seq, status FROM dataset_versions WHERE id = $1 \(lock)", [id]).values.first.map {
            (Int64($0[0] ?? "0") ?? 0, $0[1] ?? "")
        }
    }

    @discardableResult
    static func requireDraft(_ id: String, _ session: PostgresConnection.Session, lock: String = "FOR UPDATE") throws
        -> Int64
    {
        guard let found = try find(id, session, lock: lock) else {
            throw ManifestStoreError(.notFound, "dataset version \(id) does not exist")
        }
        guard found.status == "draft" else {
            throw ManifestStoreError(
                .immutable, "dataset version \(id) is published and immutable; create a new draft instead")
        }
        return found.seq
    }

    static func deleteDraft(_ seq: Int64, _ session: PostgresConnection.Session) throws {
        try session.query("DELETE FROM items WHERE version_seq = $1", ["\(seq)"])
        try session.query("DELETE FROM removed_items WHERE version_seq = $1", ["\(seq)"])
        try session.query("DELETE FROM dataset_parents WHERE version_seq = $1", ["\(seq)"])
        try session.query("DELETE FROM dataset_versions WHERE seq = $1 AND status = 'draft'", ["\(seq)"])
    }

    public func createDraft(name: String, stage: String, parents: [String], configHash: String, config: String)
        async throws
        -> DatasetVersion
    {
        let id = "draft-" + UUID().uuidString.lowercased()
        try await run { session in
            var parentSeqs: [Int64] = []
            for parent in parents {
                guard let found = try Self.find(parent, session) else {
                    throw ManifestStoreError(.notFound, "parent dataset version \(parent) does not exist")
                }
                parentSeqs.append(found.seq)
            }
            let seq =
                try session.query(
                    "INSERT INTO dataset_versions (id, name, stage, config_hash, config, status) VALUES ($1, $2, $3, $4, $5, 'draft') RETURNING seq",
                    [id, name, stage, configHash, config]
                ).values.first?.first.flatMap { $0 } ?? "0"
            for (position, parent) in parentSeqs.enumerated() {
                try session.query(
                    "INSERT INTO dataset_parents (version_seq, parent_seq, position) VALUES ($1, $2, $3)",
                    [seq, "\(parent)", "\(position)"])
            }
        }
        guard let version = try await version(id) else { throw ManifestStoreError(.database, "draft \(id) vanished") }
        return version
    }

    public func addItems(_ items: [DatasetItem], to versionId: String) async throws {
        try ManifestValidation.check(items)
        guard !items.isEmpty else { return }
        // The last item of a key wins, as it would one statement at a time.
        var seen = Set<String>()
        let items = items.reversed().filter { seen.insert($0.sourceKey).inserted }.reversed()
        guard
            let seq = try await query("SELECT seq FROM dataset_versions WHERE id = $1", [versionId]).values.first?
                .first??
                .description
        else { throw ManifestStoreError(.notFound, "dataset version \(versionId) does not exist") }
        var stream = ""
        stream.reserveCapacity(items.count * 200)
        for item in items {
            let fields = [
                seq, PostgresText.copyBytea(item.sourceKey), PostgresText.copyField(item.sha256),
                "\(item.size)", PostgresText.copyField(item.width.map(String.init)),
                PostgresText.copyField(item.height.map(String.init)), PostgresText.copyField(item.format),
                PostgresText.copyField(item.annotations), PostgresText.copyField(item.variantsJSON),
                item.status.rawValue, PostgresText.copyField(item.reason),
            ]
            stream += fields.joined(separator: "\t")
            stream += "\n"
        }
        let data = Data(stream.utf8)
        try await run { session in
            guard try Self.requireDraft(versionId, session, lock: "FOR SHARE") == Int64(seq) else {
                throw ManifestStoreError(.notFound, "dataset version \(versionId) was replaced while items were added")
            }
            let columns =
                "(version_seq, source_key, sha256, size, width, height, format, annotations, variants, status, reason)"
            // New keys, the usual case, go straight into the table; if one of them was there
            // already, the savepoint undoes that COPY and the upsert path below replaces.
            try session.query("SAVEPOINT direct_copy")
            do {
                try session.copyIn("COPY items \(columns) FROM STDIN", data: data)
                try session.query("RELEASE SAVEPOINT direct_copy")
                return
            } catch let error as DatabaseError where error.sqlState == "23505" {
                try session.query("ROLLBACK TO SAVEPOINT direct_copy")
            }
            try session.query("CREATE TEMP TABLE IF NOT EXISTS items_load (LIKE items) ON COMMIT DELETE ROWS")
            try session.copyIn("COPY items_load \(columns) FROM STDIN", data: data)
            try session.query(
                """
                INSERT INTO items SELECT * FROM items_load
                ON CONFLICT (version_seq, source_key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
                    width = excluded.width, height = excluded.height, format = excluded.format,
                    annotations = excluded.annotations, variants = excluded.variants, status = excluded.status,
                    reason = excluded.reason
                """)
        }
    }

    public func copyItems(from source: String, to draftId: String) async throws -> Int {
        try await run { session in
            let target = try Self.requireDraft(draftId, session)
            guard let from = try Self.find(source, session) else {
                throw ManifestStoreError(.notFound, "dataset version \(source) does not exist")
            }
            return try session.query(
                """
                INSERT INTO items SELECT $1, source_key, sha256, size, width, height, format, annotations, variants,
                    status, reason
                FROM items WHERE version_seq = $2 ON CONFLICT (version_seq, source_key) DO NOTHING
                """, ["\(target)", "\(from.seq)"]
            ).affected
        }
    }

    public func removeItems(sourceKeys: [String], reason: String, from draftId: String) async throws -> Int {
        try await run { session in
            let seq = try Self.requireDraft(draftId, session)
            var removed = 0
            for key in sourceKeys {
                let range = RemovedItem.augmentedRange(of: key)
                let count =
                    try session.query(
                        """
                        DELETE FROM items WHERE version_seq = $1
                          AND (source_key = $2::bytea OR (source_key >= $3::bytea AND source_key < $4::bytea))
                        RETURNING 1
                        """,
                        [
                            "\(seq)", PostgresText.bytea(key), PostgresText.bytea(range.from),
                            PostgresText.bytea(range.to),
                        ]
                    ).values.count
                guard count > 0 else { continue }
                removed += count
                try session.query(
                    """
                    INSERT INTO removed_items (version_seq, source_key, reason) VALUES ($1, $2::bytea, $3)
                    ON CONFLICT (version_seq, source_key) DO UPDATE SET reason = excluded.reason
                    """, ["\(seq)", PostgresText.bytea(key), reason])
            }
            return removed
        }
    }

    public func removedItems(of versionId: String) async throws -> [RemovedItem] {
        try await query(
            """
            SELECT source_key, reason FROM removed_items
            WHERE version_seq = (SELECT seq FROM dataset_versions WHERE id = $1) ORDER BY source_key
            """, [versionId]
        ).values.map { RemovedItem(sourceKey: PostgresText.string(fromBytea: $0[0]), reason: $0[1] ?? "") }
    }

    public func items(of versionId: String, after: String?, limit: Int) async throws -> [DatasetItem] {
        let rows = try await query(
            """
            SELECT source_key, sha256, size, width, height, format, annotations, variants, status, reason
            FROM items WHERE version_seq = (SELECT seq FROM dataset_versions WHERE id = $1)
              AND ($2::bytea IS NULL OR source_key > $2::bytea)
            ORDER BY source_key LIMIT $3
            """, [versionId, after.map(PostgresText.bytea), "\(limit)"])
        // Decoding each item's variants (JSON) is most of the cost of a large page: on every core.
        return try await concurrentChunkedMap(rows.values) { row in
            DatasetItem(
                sourceKey: PostgresText.string(fromBytea: row[0]), sha256: row[1] ?? "",
                size: UInt64(row[2] ?? "0") ?? 0,
                width: row[3].flatMap { Int($0) }, height: row[4].flatMap { Int($0) }, format: row[5],
                annotations: row[6] ?? "[]", variants: DatasetItem.decodeVariants(row[7] ?? "{}"),
                status: DatasetItem.Status(rawValue: row[8] ?? "") ?? .ok, reason: row[9])
        }
    }

    public func version(_ id: String) async throws -> DatasetVersion? {
        try await query("SELECT \(Self.versionColumns) FROM dataset_versions v WHERE v.id = $1", [id]).values.first
            .map(Self.version(from:))
    }

    public func versions(name: String?, stage: String?, limit: Int) async throws -> [DatasetVersion] {
        try await query(
            """
            SELECT \(Self.versionColumns) FROM dataset_versions v
            WHERE ($1::text IS NULL OR v.name = $1) AND ($2::text IS NULL OR v.stage = $2)
            ORDER BY v.created_at DESC, v.seq DESC LIMIT $3
            """, [name, stage, "\(limit)"]
        ).values.map(Self.version(from:))
    }

    public func publish(
        draft: String, as finalId: String, contentDigest: String, manifestURI: String, checkpoint: ManifestCheckpoint?
    ) async throws -> DatasetVersion {
        for attempt in 1...2 {
            do {
                try await run { session in
                    if let checkpoint {
                        try session.query(
                            """
                            INSERT INTO checkpoints (stage, name, value) VALUES ($1, $2, $3::bytea)
                            ON CONFLICT (stage, name) DO UPDATE SET value = excluded.value, updated_at = now()
                            """, [checkpoint.stage, checkpoint.name, PostgresText.bytea(checkpoint.value)])
                    }
                    if let existing = try Self.find(finalId, session, lock: "FOR UPDATE"),
                        existing.status == "published"
                    {
                        // Same content, same configuration: the version exists; this draft was a re-run.
                        if draft != finalId, let found = try Self.find(draft, session, lock: "FOR UPDATE"),
                            found.status == "draft"
                        {
                            try Self.deleteDraft(found.seq, session)
                        }
                        return
                    }
                    let seq = try Self.requireDraft(draft, session)
                    // Items hang off the row number, so renaming the version moves no item.
                    try session.query(
                        """
                        UPDATE dataset_versions SET id = $2, status = 'published', content_digest = $3, manifest_uri = $4,
                            published_at = now(), item_count = (SELECT count(*) FROM items WHERE version_seq = $1)
                        WHERE seq = $1
                        """, ["\(seq)", finalId, contentDigest, manifestURI])
                }
                break
            } catch let error as DatabaseError where error.sqlState == "23505" && attempt == 1 {
                // Another process published the same content a moment ago: take its version.
                continue
            }
        }
        guard let version = try await version(finalId) else {
            throw ManifestStoreError(.database, "published version \(finalId) vanished")
        }
        return version
    }

    public func discardDraft(_ id: String) async throws {
        try await run { session in
            try Self.deleteDraft(try Self.requireDraft(id, session), session)
        }
    }

    public func lineage(of id: String) async throws -> Lineage {
        guard let version = try await version(id) else {
            throw ManifestStoreError(.notFound, "dataset version \(id) does not exist")
        }
        func walk(_ sql: String) async throws -> [(DatasetVersion, Int)] {
            try await query(
                "WITH RECURSIVE \(sql) SELECT \(Self.versionColumns), g.depth FROM graph g JOIN dataset_versions v ON v.seq = g.seq ORDER BY g.depth, v.id",
                [id]
            ).values.map { (Self.version(from: $0), Int($0[12] ?? "0") ?? 0) }
        }
        let ancestors = try await walk(
            """
            walk(seq, depth) AS (
                SELECT p.parent_seq, 1 FROM dataset_parents p JOIN dataset_versions v ON v.seq = p.version_seq WHERE v.id = $1
                UNION SELECT p.parent_seq, w.depth + 1 FROM dataset_parents p JOIN walk w ON p.version_seq = w.seq WHERE w.depth < 100
            ), graph AS (SELECT seq, MIN(depth) AS depth FROM walk GROUP BY seq)
            """)
        let descendants = try await walk(
            """
            walk(seq, depth) AS (
                SELECT p.version_seq, 1 FROM dataset_parents p JOIN dataset_versions v ON v.seq = p.parent_seq WHERE v.id = $1
                UNION SELECT p.version_seq, w.depth + 1 FROM dataset_parents p JOIN walk w ON p.parent_seq = w.seq WHERE w.depth < 100
            ), graph AS (SELECT seq, MIN(depth) AS depth FROM walk GROUP BY seq)
            """)
        return Lineage(
            version: version, ancestors: ancestors.map { ($0.0, $0.1) }, descendants: descendants.map { ($0.0, $0.1) })
    }

    // MARK: - Checkpoints

    public func checkpoint(stage: String, name: String) async throws -> String? {
        try await query("SELECT value FROM checkpoints WHERE stage = $1 AND name = $2", [stage, name]).values.first?
            .first
            .map { PostgresText.string(fromBytea: $0) }
    }

    public func setCheckpoint(stage: String, name: String, value: String) async throws {
        try await query(
            """
            INSERT INTO checkpoints (stage, name, value) VALUES ($1, $2, $3::bytea)
            ON CONFLICT (stage, name) DO UPDATE SET value = excluded.value, updated_at = now()
            """, [stage, name, PostgresText.bytea(value)])
    }

    public func replaceCheckpoint(stage: String, name: String, expected: String?, value: String) async throws -> Bool {
        let rows: PostgresConnection.Rows
        if let expected {
            rows = try await query(
                """
                UPDATE checkpoints SET value = $4::bytea, updated_at = now()
                WHERE stage = $1 AND name = $2 AND value = $3::bytea
                """, [stage, name, PostgresText.bytea(expected), PostgresText.bytea(value)])
        } else {
            rows = try await query(
                "INSERT INTO checkpoints (stage, name, value) VALUES ($1, $2, $3::bytea) ON CONFLICT DO NOTHING",
                [stage, name, PostgresText.bytea(value)])
        }
        return rows.affected == 1
    }

    // MARK: - Work queues

    public func enqueue(queue: String, items: [(key: String, payload: String)]) async throws -> Int {
        try ManifestValidation.check(payloads: items.map(\.payload))
        guard !items.isEmpty else { return 0 }
        struct Entry: Encodable {
            let k: String
            let p: String
        }
        let json = ManifestJSON.string(items.map { Entry(k: Hex.encode($0.key.utf8), p: $0.payload) })
        return try await query(
            """
            INSERT INTO work_items (queue, key, payload, state)
            SELECT $1, decode(x->>'k', 'hex'), x->>'p', 'available' FROM json_array_elements($2::json) x
            ON CONFLICT (queue, key) DO NOTHING
            """, [queue, json]
        ).affected
    }

    public func claimBatch(queue: String, worker: String, limit: Int, lease: Duration) async throws -> [ClaimedWork] {
        let seconds = Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18
        // A worker that died on an item's last attempt leaves it claimed: it is dead now.
        try await query(
            """
            UPDATE work_items SET state = 'dead', last_error = COALESCE(last_error, 'lease expired on the last attempt'),
                completed_at = now()
            WHERE (queue, key) IN (
                SELECT queue, key FROM work_items
                WHERE queue = $1 AND state = 'claimed' AND lease_expires_at < now() AND attempts >= $2
                FOR UPDATE SKIP LOCKED)
            """, [queue, "\(maxAttempts)"])
        let rows = try await query(
            """
            UPDATE work_items w SET state = 'claimed', claimed_by = $2, attempts = w.attempts + 1,
                lease_expires_at = now() + make_interval(secs => $3::double precision), claimed_at = now()
            FROM (
                SELECT queue, key FROM work_items
                WHERE queue = $1 AND attempts < $4 AND state IN ('available', 'claimed')
                  AND (state = 'available' OR (state = 'claimed' AND lease_expires_at < now()))
                ORDER BY key LIMIT $5
                FOR UPDATE SKIP LOCKED
            ) picked
            WHERE w.queue = picked.queue AND w.key = picked.key
            RETURNING w.key, w.payload, w.attempts
            """, [queue, worker, "\(seconds)", "\(maxAttempts)", "\(limit)"])
        return rows.values.map {
            ClaimedWork(
                key: PostgresText.string(fromBytea: $0[0]), payload: $0[1] ?? "", attempt: Int($0[2] ?? "0") ?? 0)
        }.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    public func complete(queue: String, worker: String, keys: [String]) async throws -> [String] {
        guard !keys.isEmpty else { return [] }
        return try await query(
            """
            UPDATE work_items SET state = 'completed', completed_at = now(), lease_expires_at = NULL
            WHERE queue = $1 AND claimed_by = $2 AND state = 'claimed'
              AND key IN (SELECT decode(h, 'hex') FROM unnest(string_to_array($3, ',')) h)
            RETURNING key
            """, [queue, worker, PostgresText.hexList(keys)]
        ).values.map { PostgresText.string(fromBytea: $0[0]) }
    }

    public func fail(queue: String, worker: String, failures: [(key: String, error: String)]) async throws {
        guard !failures.isEmpty else { return }
        let json = Self.failuresJSON(failures)
        try await query(
            """
            UPDATE work_items w SET state = CASE WHEN w.attempts >= $4 THEN 'dead' ELSE 'available' END,
                completed_at = CASE WHEN w.attempts >= $4 THEN now() END, last_error = f.error, claimed_by = NULL, lease_expires_at = NULL
            FROM (SELECT decode(x->>'k', 'hex') AS key, x->>'e' AS error FROM json_array_elements($3::json) x) f
            WHERE w.queue = $1 AND w.key = f.key AND w.claimed_by = $2 AND w.state = 'claimed'
            """, [queue, worker, json, "\(maxAttempts)"])
    }

    /// Keys (hex) and errors (NUL-free) as the JSON array `fail` and `giveBack` read with
    /// `json_array_elements`.
    private static func failuresJSON(_ failures: [(key: String, error: String)]) -> String {
        struct Entry: Encodable {
            let k: String
            let e: String
        }
        return ManifestJSON.string(
            failures.map {
                Entry(k: Hex.encode($0.key.utf8), e: $0.error.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"))
            })
    }

    public func giveBack(queue: String, worker: String, failures: [(key: String, error: String)]) async throws {
        guard !failures.isEmpty else { return }
        let json = Self.failuresJSON(failures)
        try await query(
            """
            UPDATE work_items w SET state = 'available', attempts = greatest(w.attempts - 1, 0), last_error = f.error,
                claimed_by = NULL, lease_expires_at = NULL
            FROM (SELECT decode(x->>'k', 'hex') AS key, x->>'e' AS error FROM json_array_elements($3::json) x) f
            WHERE w.queue = $1 AND w.key = f.key AND w.claimed_by = $2 AND w.state = 'claimed'
            """, [queue, worker, json])
    }

    public func claimHolders(queue: String) async throws -> [String] {
        try await query(
            """
            SELECT DISTINCT claimed_by FROM work_items
            WHERE queue = $1 AND state IN ('available', 'claimed') AND state = 'claimed' AND lease_expires_at >= now()
            """, [queue]
        ).values.compactMap { $0[0] }
    }

    public func releaseClaims(queue: String?, worker: String) async throws -> Int {
        try await query(
            """
            UPDATE work_items SET lease_expires_at = now() - interval '1 second'
            WHERE ($1::text IS NULL OR queue = $1) AND claimed_by = $2 AND state = 'claimed'
              AND lease_expires_at >= now()
            RETURNING key
            """, [queue, worker]
        ).values.count
    }

    public func queueCounts(queue: String) async throws -> [WorkState: Int] {
        var counts = Dictionary(uniqueKeysWithValues: WorkState.allCases.map { ($0, 0) })
        for row in try await query("SELECT state, count(*) FROM work_items WHERE queue = $1 GROUP BY state", [queue])
            .values
        {
            if let state = WorkState(rawValue: row[0] ?? "") { counts[state] = Int(row[1] ?? "0") ?? 0 }
        }
        return counts
    }

    public func forgetCompleted(queue: String, object: String) async throws -> Int {
        let prefix = object + "@"
        return try await query(
            """
            DELETE FROM work_items WHERE queue = $1 AND state = 'completed' AND key >= $2::bytea AND key < $3::bytea
              AND position('\\x40'::bytea IN substring(key FROM $4::integer)) = 0
            RETURNING 1
            """, [queue, PostgresText.bytea(prefix), PostgresText.bytea(object + "A"), "\(prefix.utf8.count + 1)"]
        ).values.count
    }

    // MARK: - Housekeeping

    public func queueSummaries(queue: String?) async throws -> [QueueSummary] {
        try await run { session in
            var claims: [String: QueueSummary.Claim] = [:]
            for row in try session.query(
                """
                SELECT DISTINCT ON (queue) queue, claimed_by, key, extract(epoch FROM claimed_at),
                    extract(epoch FROM lease_expires_at), attempts
                FROM work_items WHERE state IN ('available', 'claimed') AND state = 'claimed'
                  AND ($1::text IS NULL OR queue = $1)
                ORDER BY queue, claimed_at NULLS LAST, lease_expires_at
                """, [queue]
            ).values {
                claims[row[0] ?? ""] = QueueSummary.Claim(
                    worker: row[1] ?? "", key: PostgresText.string(fromBytea: row[2]),
                    claimedAt: Self.date(row[3]), leaseExpiresAt: Self.date(row[4]) ?? Date(timeIntervalSince1970: 0),
                    attempt: Int(row[5] ?? "0") ?? 0)
            }
            return try session.query(
                """
                SELECT queue, count(*) FILTER (WHERE state = 'available'), count(*) FILTER (WHERE state = 'claimed'),
                    count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'dead'),
                    extract(epoch FROM min(enqueued_at) FILTER (WHERE state = 'available')),
                    extract(epoch FROM max(completed_at))
                FROM work_items WHERE $1::text IS NULL OR queue = $1 GROUP BY queue ORDER BY queue
                """, [queue]
            ).values.map { row in
                let name = row[0] ?? ""
                return QueueSummary(
                    queue: name,
                    counts: [
                        .available: Int(row[1] ?? "0") ?? 0, .claimed: Int(row[2] ?? "0") ?? 0,
                        .completed: Int(row[3] ?? "0") ?? 0, .dead: Int(row[4] ?? "0") ?? 0,
                    ], oldestAvailable: Self.date(row[5]), oldestClaim: claims[name], lastFinished: Self.date(row[6]))
            }
        }
    }

    public func deadWork(queue: String, limit: Int) async throws -> [DeadWork] {
        try await query(
            """
            SELECT key, attempts, last_error, extract(epoch FROM completed_at) FROM work_items
            WHERE queue = $1 AND state = 'dead' ORDER BY completed_at DESC NULLS LAST, key LIMIT $2
            """, [queue, "\(limit)"]
        ).values.map {
            DeadWork(
                key: PostgresText.string(fromBytea: $0[0]), attempts: Int($0[1] ?? "0") ?? 0,
                lastError: $0[2] ?? "", diedAt: Self.date($0[3]))
        }
    }

    public func pruneWork(_ policy: WorkPrunePolicy) async throws -> WorkPruneReport {
        let cutoff = "\(policy.cutoff.timeIntervalSince1970)"
        return try await run { session in
            var report = WorkPruneReport()
            // Finished queues, deleted whole (never a versioned one: its completed items are its memory).
            let finished = try session.query(
                """
                SELECT queue, count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'dead')
                FROM work_items WHERE $1::text IS NULL OR queue = $1 GROUP BY queue
                HAVING count(*) FILTER (WHERE state IN ('available', 'claimed')) = 0
                   AND max(COALESCE(completed_at, enqueued_at)) < to_timestamp($2::double precision)
                """, [policy.queue, cutoff]
            ).values
            for row in finished {
                guard let name = row[0], !policy.isVersioned(name) else { continue }
                try session.query("DELETE FROM work_items WHERE queue = $1", [name])
                report.queues += 1
                report.completed += Int(row[1] ?? "0") ?? 0
                report.dead += Int(row[2] ?? "0") ?? 0
            }
            report.dead +=
                try session.query(
                    """
                    DELETE FROM work_items WHERE ($1::text IS NULL OR queue = $1) AND state = 'dead'
                      AND COALESCE(completed_at, enqueued_at) < to_timestamp($2::double precision)
                    RETURNING 1
                    """, [policy.queue, cutoff]
                ).values.count
            // Versioned queues: a completed `<object>@<version>` with a newer completed version of
            // the same object (the part of the key before its last `@`).
            let versioned = try session.query(
                "SELECT DISTINCT queue FROM work_items WHERE ($1::text IS NULL OR queue = $1) AND state = 'completed'",
                [policy.queue]
            ).values.compactMap { $0[0] }.filter(policy.isVersioned)
            for name in versioned {
                report.completed +=
                    try session.query(
                        """
                        DELETE FROM work_items w USING (
                            SELECT key FROM (
                                SELECT key, completed_at, row_number() OVER (
                                    PARTITION BY CASE WHEN position('@' IN k) > 0 THEN regexp_replace(k, '@[^@]*$', '')
                                        ELSE k END
                                    ORDER BY completed_at DESC, key DESC) AS n
                                FROM (SELECT key, completed_at, encode(key, 'escape') AS k FROM work_items
                                      WHERE queue = $1 AND state = 'completed') s) r
                            WHERE n > 1 AND completed_at < to_timestamp($2::double precision)) old
                        WHERE w.queue = $1 AND w.key = old.key AND w.state = 'completed'
                        RETURNING 1
                        """, [name, cutoff]
                    ).values.count
            }
            return report
        }
    }

    private static func date(_ text: String?) -> Date? {
        text.flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
    }
}
