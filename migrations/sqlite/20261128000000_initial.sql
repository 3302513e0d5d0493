-- orb-mock's SQLite schema (timestamps are RFC 3339 text, JSON is text). Every row belongs to one account (the SHA-256 of its API key):
-- ids are unique per account, so that accounts never see each other's data.
-- Nothing is ever hard-deleted by the API: deletion is a state (customers) or a timestamp
-- (invoices, subscriptions), as in Orb.

CREATE TABLE customers (
    pk                   INTEGER PRIMARY KEY,
    account              TEXT        NOT NULL,
    id                   TEXT        NOT NULL,
    external_customer_id TEXT,
    name                 TEXT        NOT NULL,
    email                TEXT        NOT NULL,
    currency             TEXT,
    timezone             TEXT        NOT NULL,
    metadata             TEXT        NOT NULL DEFAULT '{}',
    balance              TEXT        NOT NULL DEFAULT '0.00',
    state                TEXT        NOT NULL DEFAULT 'active'
                         CHECK (state IN ('active', 'deleting', 'deleted')),
    created_at           TEXT        NOT NULL,
    deleting_at          TEXT       ,
    deleted_at           TEXT       ,
    UNIQUE (account, id)
);

-- external_customer_id is free again once its customer is fully deleted.
CREATE UNIQUE INDEX customers_external_id ON customers (account, external_customer_id)
    WHERE external_customer_id IS NOT NULL AND state <> 'deleted';
-- Newest-first keyset pagination.
CREATE INDEX customers_page ON customers (account, pk DESC);

CREATE TABLE subscriptions (
    pk                   INTEGER PRIMARY KEY,
    account              TEXT        NOT NULL,
    id                   TEXT        NOT NULL,
    customer_id          TEXT        NOT NULL,
    plan_id              TEXT        NOT NULL,
    external_plan_id     TEXT,
    status               TEXT        NOT NULL CHECK (status IN ('active', 'ended', 'upcoming')),
    net_terms            BIGINT      NOT NULL,
    auto_collection      INTEGER,
    default_invoice_memo TEXT,
    metadata             TEXT        NOT NULL DEFAULT '{}',
    start_date           TEXT        NOT NULL,
    end_date             TEXT       ,
    created_at           TEXT        NOT NULL,
    deleted_at           TEXT       ,
    UNIQUE (account, id),
    FOREIGN KEY (account, customer_id) REFERENCES customers (account, id)
);

CREATE INDEX subscriptions_customer ON subscriptions (account, customer_id);
CREATE INDEX subscriptions_page ON subscriptions (account, pk DESC);

CREATE TABLE invoices (
    pk              INTEGER PRIMARY KEY,
    account         TEXT        NOT NULL,
    id              TEXT        NOT NULL,
    customer_id     TEXT        NOT NULL,
    subscription_id TEXT,
    invoice_number  TEXT        NOT NULL,
    currency        TEXT        NOT NULL,
    status          TEXT        NOT NULL
                    CHECK (status IN ('draft', 'issued', 'paid', 'synced', 'void')),
    invoice_date    TEXT        NOT NULL,
    due_date        TEXT       ,
    net_terms       BIGINT      NOT NULL,
    memo            TEXT,
    metadata        TEXT        NOT NULL DEFAULT '{}',
    will_auto_issue INTEGER     NOT NULL,
    -- Line items are owned by their invoice and never queried on their own.
    line_items      TEXT        NOT NULL,
    created_at      TEXT        NOT NULL,
    issued_at       TEXT       ,
    paid_at         TEXT       ,
    voided_at       TEXT       ,
    deleted_at      TEXT       ,
    UNIQUE (account, id),
    FOREIGN KEY (account, customer_id) REFERENCES customers (account, id)
);

CREATE INDEX invoices_customer ON invoices (account, customer_id);
CREATE INDEX invoices_page ON invoices (account, pk DESC);

-- The durable cascade queue: one job per deleted customer, claimed with SKIP LOCKED.
CREATE TABLE deletion_jobs (
    pk           INTEGER PRIMARY KEY,
    account      TEXT        NOT NULL,
    customer_id  TEXT        NOT NULL,
    state        TEXT        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'completed')),
    due_at       TEXT        NOT NULL,
    attempts     INTEGER     NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TEXT        NOT NULL,
    completed_at TEXT       ,
    UNIQUE (account, customer_id),
    FOREIGN KEY (account, customer_id) REFERENCES customers (account, id)
);

CREATE INDEX deletion_jobs_due ON deletion_jobs (due_at) WHERE state = 'pending';
