-- Custos vault database, migration 1: cases, items, object keys, staging, custody log.
-- Applied by the vault at start-up inside one transaction; recorded in schema_migrations.
-- Integers that are times are Unix microseconds (UTC). Hashes and ids are raw bytes.

CREATE TABLE cases (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- One row per evidence item: the plaintext SHA-256 is the identity examiners cite.
-- Deduplication is scoped to one case (UNIQUE(case_id, sha256)): another case holding the same
-- file is never observable.
CREATE TABLE items (
    id            TEXT    PRIMARY KEY,             -- "itm_" + 26 base32 characters
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    sha256        BLOB    NOT NULL CHECK (length(sha256) = 32),
    sha1          BLOB             CHECK (sha1 IS NULL OR length(sha1) = 20),
    md5           BLOB             CHECK (md5 IS NULL OR length(md5) = 16),
    size          INTEGER NOT NULL CHECK (size >= 0),
    object_id     BLOB    NOT NULL UNIQUE CHECK (length(object_id) = 16),
    segment_size  INTEGER NOT NULL,
    description   TEXT,
    original_name TEXT,
    custodian     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    ingest_seq    INTEGER NOT NULL REFERENCES events(seq),
    UNIQUE (case_id, sha256)
);

-- The per-object data key, wrapped by a master key. Kept apart from the item row so that
-- crypto-shredding deletes exactly this row, and key rotation rewrites only this table.
CREATE TABLE object_keys (
    object_id      BLOB    PRIMARY KEY CHECK (length(object_id) = 16),
    master_key_id  INTEGER NOT NULL,
    wrapped        BLOB    NOT NULL CHECK (length(wrapped) = 60)
);

-- Objects being written. A row here and no item row means an unfinished ingest: the audit
-- reports its object as a staging leftover and --repair deletes both.
CREATE TABLE staging (
    object_id   BLOB    PRIMARY KEY CHECK (length(object_id) = 16),
    started_at  INTEGER NOT NULL
);

-- The custody log: leaf `seq` of the RFC 6962 tree is `bytes` (canonical event, docs/FORMATS.md).
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
    bytes      BLOB    NOT NULL,
    signature  BLOB    NOT NULL CHECK (length(signature) = 64),
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),   -- leaf hash, SHA-256(0x00 || bytes)
    item_id    TEXT,
    case_name  TEXT,
    action     TEXT    NOT NULL
);
CREATE INDEX events_by_item ON events(item_id, seq) WHERE item_id IS NOT NULL;

-- Perfect-subtree hashes: (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE tree_nodes (
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    hash   BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Every signed checkpoint, as its exact C2SP signed-note text.
CREATE TABLE checkpoints (
    size        INTEGER PRIMARY KEY CHECK (size >= 0),
    note        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
