-- Webhooks (README, "Testing webhook handlers"; src/store/webhooks.rs). Endpoints are an Orb
-- resource per account. Every event a state change emits is written in the transaction of that
-- change (a transactional outbox), with one delivery per event and endpoint: a queue whose
-- rows are leased while their HTTP call is in flight. Every attempt is kept.
CREATE TABLE webhook_endpoints (
    pk                  INTEGER PRIMARY KEY,
    account             TEXT        NOT NULL,
    id                  TEXT        NOT NULL,
    url                 TEXT        NOT NULL,
    secret              TEXT        NOT NULL,
    enabled             INTEGER     NOT NULL DEFAULT 1,
    enabled_event_types TEXT,
    -- The same types as `,a,b,` (NULL: every type), for the fan-out trigger.
    event_filter        TEXT,
    payload_style       TEXT        CHECK (payload_style IN ('expanded', 'standard')),
    -- The endpoint of --webhook-url, which every account has from the start.
    configured          INTEGER     NOT NULL DEFAULT 0,
    created_at          TEXT        NOT NULL,
    deleted_at          TEXT       ,
    UNIQUE (account, id)
);
CREATE UNIQUE INDEX webhook_endpoints_configured ON webhook_endpoints (account) WHERE configured = 1;
CREATE INDEX webhook_endpoints_live ON webhook_endpoints (account, pk) WHERE deleted_at IS NULL;

CREATE TABLE webhook_events (
    pk          INTEGER PRIMARY KEY,
    account     TEXT        NOT NULL,
    id          TEXT        NOT NULL,
    type        TEXT        NOT NULL,
    subject     TEXT        NOT NULL,
    properties  TEXT        NOT NULL,
    -- Send to this endpoint only (a test event aimed at one); NULL: every endpoint that wants it.
    only_endpoint TEXT,
    created_at  TEXT        NOT NULL
);
-- Ids are 16 random characters; no unique index is kept for them (an event's one insert is on
-- the hot path of every change). A lookup by id (a resend) reads the account's events.
CREATE INDEX webhook_events_page ON webhook_events (account, pk DESC);

CREATE TABLE webhook_deliveries (
    pk           INTEGER PRIMARY KEY,
    account      TEXT        NOT NULL,
    event_pk     BIGINT      NOT NULL REFERENCES webhook_events (pk) ON DELETE CASCADE,
    endpoint_id  TEXT        NOT NULL,
    state        TEXT        NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'completed', 'failed', 'cancelled')),
    due_at       TEXT        NOT NULL,
    leased_until TEXT       ,
    attempts     INTEGER     NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TEXT        NOT NULL,
    completed_at TEXT       
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (account, endpoint_id, pk)
    WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    pk           INTEGER PRIMARY KEY,
    account      TEXT        NOT NULL,
    event_id     TEXT        NOT NULL,
    endpoint_id  TEXT        NOT NULL,
    url          TEXT        NOT NULL,
    attempt      INTEGER     NOT NULL,
    status       INTEGER,
    latency_ms   BIGINT      NOT NULL,
    error        TEXT,
    attempted_at TEXT        NOT NULL
);
CREATE INDEX webhook_attempts_page ON webhook_attempts (account, pk DESC);

-- The fan-out: inserting an event queues one delivery for each enabled endpoint of its account
-- that wants its type, inside the statement that writes the event (one statement per change
-- on the request's path; src/store/webhooks.rs, FANS_OUT_EVENTS, relies on the name).
CREATE TRIGGER webhook_events_fan_out AFTER INSERT ON webhook_events
BEGIN
    INSERT INTO webhook_deliveries (account, event_pk, endpoint_id, due_at, created_at)
    SELECT NEW.account, NEW.pk, e.id, NEW.created_at, NEW.created_at
      FROM webhook_endpoints e
     WHERE e.account = NEW.account AND e.deleted_at IS NULL AND e.enabled
       AND (e.event_filter IS NULL OR instr(e.event_filter, ',' || NEW.type || ',') > 0)
       AND (NEW.only_endpoint IS NULL OR e.id = NEW.only_endpoint)
     ORDER BY e.pk;
END;
