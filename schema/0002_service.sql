-- Custos vault database, migration 2: accounts, tokens, case membership, custody transfers and
-- disclosures (the multi-user service, docs/ACCESS.md). Times are Unix microseconds (UTC).

-- A person or service account. `role` is the account's role in the vault; a case membership
-- carries the role the person holds in that case (docs/ACCESS.md).
CREATE TABLE users (
    name             TEXT    PRIMARY KEY,               -- [a-z0-9._-]{1,64}
    role             TEXT    NOT NULL CHECK (role IN ('administrator', 'examiner', 'supervisor',
                                                      'prosecutor', 'defence', 'court', 'auditor')),
    display_name     TEXT,
    disabled         INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER NOT NULL DEFAULT 0,        -- 0: not locked
    created_at       INTEGER NOT NULL
);

-- API tokens: `cst_<id>_<secret>`; only SHA-256(secret) is stored.
CREATE TABLE tokens (
    id           TEXT    PRIMARY KEY,                   -- 16 base32 characters
    user_name    TEXT    NOT NULL REFERENCES users(name),
    secret_hash  BLOB    NOT NULL CHECK (length(secret_hash) = 32),
    label        TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    idle_secs    INTEGER NOT NULL CHECK (idle_secs > 0),
    last_used_at INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX tokens_by_user ON tokens(user_name);

-- Who may do what in a case, and in which role.
CREATE TABLE case_members (
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    user_name  TEXT    NOT NULL REFERENCES users(name),
    role       TEXT    NOT NULL CHECK (role IN ('examiner', 'supervisor', 'prosecutor',
                                                'defence', 'court', 'auditor')),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (case_id, user_name)
) WITHOUT ROWID;
CREATE INDEX case_members_by_user ON case_members(user_name);

-- Custody hand-offs: the item's custodian changes only when the receiver accepts.
CREATE TABLE transfers (
    id            TEXT    PRIMARY KEY,                  -- "trf_" + 26 base32 characters
    item_id       TEXT    NOT NULL REFERENCES items(id),
    from_user     TEXT    NOT NULL,
    to_user       TEXT    NOT NULL REFERENCES users(name),
    reason        TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at    INTEGER NOT NULL,
    initiate_seq  INTEGER NOT NULL REFERENCES events(seq),
    accept_seq    INTEGER REFERENCES events(seq)
);
CREATE INDEX transfers_by_item ON transfers(item_id);

-- Disclosures of items to a named recipient under a legal instrument.
CREATE TABLE disclosures (
    id              TEXT    PRIMARY KEY,                -- "dsc_" + 26 base32 characters
    case_id         INTEGER NOT NULL REFERENCES cases(id),
    requested_by    TEXT    NOT NULL,
    recipient       TEXT    NOT NULL REFERENCES users(name),
    recipient_kind  TEXT    NOT NULL CHECK (recipient_kind IN ('defence', 'court', 'foreign-agency')),
    instrument      TEXT    NOT NULL,                   -- court order or request id
    purpose         TEXT    NOT NULL,
    view_only       INTEGER NOT NULL CHECK (view_only IN (0, 1)),
    max_downloads   INTEGER NOT NULL CHECK (max_downloads >= 0),
    expires_secs    INTEGER NOT NULL CHECK (expires_secs > 0),
    state           TEXT    NOT NULL CHECK (state IN ('requested', 'approved', 'refused', 'acknowledged')),
    decided_by      TEXT,
    decision_reason TEXT,
    expires_at      INTEGER,                            -- set on approval
    created_at      INTEGER NOT NULL
);
CREATE INDEX disclosures_by_case ON disclosures(case_id);
CREATE INDEX disclosures_by_recipient ON disclosures(recipient);

CREATE TABLE disclosure_items (
    disclosure_id  TEXT    NOT NULL REFERENCES disclosures(id),
    item_id        TEXT    NOT NULL REFERENCES items(id),
    downloads      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (disclosure_id, item_id)
) WITHOUT ROWID;
