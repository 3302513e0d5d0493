-- Idempotency keys (SPEC §6) and per-account settings (SPEC §7).

-- One row per (account, key): `status` is NULL while the first request is in flight, then the
-- stored answer. Rows older than 48 h are swept.
CREATE TABLE idempotency_keys (
    account     TEXT        NOT NULL,
    key         TEXT        NOT NULL,
    fingerprint TEXT        NOT NULL,
    status      INTEGER,
    body        BYTEA,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Overrides of the server's flags for one account; NULL means the server default.
CREATE TABLE account_settings (
    account           TEXT PRIMARY KEY,
    deletion_delay_ms BIGINT
);

-- Fixtures documents loaded from a --fixtures file (by content digest), so that a restart on a
-- persistent store does not load them twice.
CREATE TABLE fixture_loads (
    account   TEXT NOT NULL,
    digest    TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, digest)
);
