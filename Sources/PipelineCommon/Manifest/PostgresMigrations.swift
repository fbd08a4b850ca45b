/// The PostgreSQL schema, one migration a version, applied in order and never edited once shipped.
enum PostgresMigrations {
    /// Held while migrating so replicas starting together apply each migration once.
    static let advisoryLockKey: Int64 = 7_310_425_118_001

    static let all: [(version: Int, name: String, sql: [String])] = [
        (
            1, "dataset versions, items, checkpoints, work queues",
            [
                """
                CREATE TABLE dataset_versions (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    config_hash TEXT NOT NULL,
                    config TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
                    item_count BIGINT NOT NULL DEFAULT 0,
                    content_digest TEXT,
                    manifest_uri TEXT,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    published_at TIMESTAMPTZ
                )
                """,
                "CREATE INDEX dataset_versions_by_name ON dataset_versions (name, stage, created_at)",
                """
                CREATE FUNCTION dataset_versions_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'dataset version % is published and immutable', OLD.id USING ERRCODE = 'P0001';
                END $$
                """,
                """
                CREATE TRIGGER dataset_versions_published_are_immutable BEFORE UPDATE OR DELETE ON dataset_versions
                FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION dataset_versions_keep_published()
                """,
                """
                CREATE TABLE dataset_parents (
                    version_seq BIGINT NOT NULL,
                    parent_seq BIGINT NOT NULL,
                    position INTEGER NOT NULL,
                    PRIMARY KEY (version_seq, parent_seq)
                )
                """,
                "CREATE INDEX dataset_parents_by_parent ON dataset_parents (parent_seq)",
                """
                CREATE TABLE items (
                    version_seq BIGINT NOT NULL,
                    source_key BYTEA NOT NULL,
                    sha256 TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    width INTEGER,
                    height INTEGER,
                    format TEXT,
                    annotations TEXT NOT NULL,
                    variants TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('ok', 'rejected')),
                    reason TEXT,
                    PRIMARY KEY (version_seq, source_key)
                )
                """,
                """
                CREATE TABLE checkpoints (
                    stage TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value BYTEA NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (stage, name)
                )
                """,
                """
                CREATE TABLE work_items (
                    queue TEXT NOT NULL,
                    key BYTEA NOT NULL,
                    payload TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('available', 'claimed', 'completed', 'dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    claimed_by TEXT,
                    lease_expires_at TIMESTAMPTZ,
                    last_error TEXT,
                    enqueued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    completed_at TIMESTAMPTZ,
                    PRIMARY KEY (queue, key)
                )
                """,
                "CREATE INDEX work_items_claimable ON work_items (queue, state, key)",
            ]
        ),
        (
            2, "claims scan only open work",
            [
                // A claim looks for available (or expired) items in key order. Without this
                // index it walked the queue's primary key past every completed item: with
                // 2 000 000 completed items in a queue, 352 ms a claim and 95 items/s on
                // PostgreSQL (25x slower than a fresh queue); 500 000 took 67 ms on PostgreSQL
                // and 49 ms on SQLite, 0.09 and 0.02 ms with it.
                "CREATE INDEX work_items_open ON work_items (queue, key) WHERE state IN ('available', 'claimed')"
            ]
        ),
        (
            3, "claims say when they were made",
            [
                // `pipelinectl queues list` shows the oldest claim; completed_at is also set when
                // an item dies, so pruning knows when dead items finished.
                "ALTER TABLE work_items ADD COLUMN claimed_at TIMESTAMPTZ"
            ]
        ),
        (
            4, "what a version took out of the one it was seeded from",
            [
                // Objects deleted from the bucket: their items leave the next version, and the
                // version says which source keys went and why (lineage, manifest.json).
                """
                CREATE TABLE removed_items (
                    version_seq BIGINT NOT NULL,
                    source_key BYTEA NOT NULL,
                    reason TEXT NOT NULL,
                    PRIMARY KEY (version_seq, source_key)
                )
                """
            ]
        ),
    ]
}
