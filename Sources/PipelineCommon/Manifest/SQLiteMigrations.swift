/// The SQLite schema, one migration a version, applied in order and never edited once shipped.
enum SQLiteMigrations {
    static let all: [(version: Int, name: String, sql: [String])] = [
        (
            1, "dataset versions, items, checkpoints, work queues",
            [
                """
                CREATE TABLE dataset_versions (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    config_hash TEXT NOT NULL,
                    config TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
                    item_count INTEGER NOT NULL DEFAULT 0,
                    content_digest TEXT,
                    manifest_uri TEXT,
                    created_at REAL NOT NULL,
                    published_at REAL
                )
                """,
                "CREATE INDEX dataset_versions_by_name ON dataset_versions (name, stage, created_at)",
                """
                CREATE TRIGGER dataset_versions_published_are_immutable BEFORE UPDATE ON dataset_versions
                WHEN OLD.status = 'published'
                BEGIN SELECT RAISE(ABORT, 'dataset version is published and immutable'); END
                """,
                """
                CREATE TRIGGER dataset_versions_published_are_kept BEFORE DELETE ON dataset_versions
                WHEN OLD.status = 'published'
                BEGIN SELECT RAISE(ABORT, 'dataset version is published and immutable'); END
                """,
                """
                CREATE TABLE dataset_parents (
                    version_seq INTEGER NOT NULL,
                    parent_seq INTEGER NOT NULL,
                    position INTEGER NOT NULL,
                    PRIMARY KEY (version_seq, parent_seq)
                )
                """,
                "CREATE INDEX dataset_parents_by_parent ON dataset_parents (parent_seq)",
                """
                CREATE TABLE items (
                    version_seq INTEGER NOT NULL,
                    source_key BLOB NOT NULL,
                    sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    width INTEGER,
                    height INTEGER,
                    format TEXT,
                    annotations TEXT NOT NULL,
                    variants TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('ok', 'rejected')),
                    reason TEXT,
                    PRIMARY KEY (version_seq, source_key)
                ) WITHOUT ROWID
                """,
                """
                CREATE TABLE checkpoints (
                    stage TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value BLOB NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (stage, name)
                )
                """,
                """
                CREATE TABLE work_items (
                    queue TEXT NOT NULL,
                    key BLOB NOT NULL,
                    payload TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('available', 'claimed', 'completed', 'dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    claimed_by TEXT,
                    lease_expires_at REAL,
                    last_error TEXT,
                    enqueued_at REAL NOT NULL,
                    completed_at REAL,
                    PRIMARY KEY (queue, key)
                )
                """,
                "CREATE INDEX work_items_claimable ON work_items (queue, state, lease_expires_at)",
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
                "ALTER TABLE work_items ADD COLUMN claimed_at REAL"
            ]
        ),
        (
            4, "what a version took out of the one it was seeded from",
            [
                // Objects deleted from the bucket: their items leave the next version, and the
                // version says which source keys went and why (lineage, manifest.json).
                """
                CREATE TABLE removed_items (
                    version_seq INTEGER NOT NULL,
                    source_key BLOB NOT NULL,
                    reason TEXT NOT NULL,
                    PRIMARY KEY (version_seq, source_key)
                ) WITHOUT ROWID
                """
            ]
        ),
    ]
}
