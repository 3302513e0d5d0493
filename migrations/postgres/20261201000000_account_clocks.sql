-- A clock per account (README, "Moving time"): the account's time is real time plus
-- `offset_micros`, or `frozen_at` while the clock is frozen. No row: real time.
CREATE TABLE account_clocks (
    account       TEXT        PRIMARY KEY,
    offset_micros BIGINT      NOT NULL DEFAULT 0,
    frozen_at     TIMESTAMPTZ
);

-- What the account's time makes due in a subscription: its start (`upcoming` to `active`) and
-- its end (to `ended`), each emitting its event. A queue (src/store/queue.rs) like deletions.
CREATE TABLE subscription_changes (
    pk              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         TEXT        NOT NULL,
    subscription_id TEXT        NOT NULL,
    change          TEXT        NOT NULL CHECK (change IN ('start', 'end')),
    state           TEXT        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'completed', 'cancelled')),
    due_at          TIMESTAMPTZ NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    completed_at    TIMESTAMPTZ
);

CREATE INDEX subscription_changes_due ON subscription_changes (due_at) WHERE state = 'pending';
CREATE INDEX subscription_changes_subscription
    ON subscription_changes (account, subscription_id) WHERE state = 'pending';

-- An event's deliveries fall due on the real clock (`deliver_at`), not the account's: an
-- account a year ahead still has its webhooks sent now.
ALTER TABLE webhook_events ADD COLUMN deliver_at TIMESTAMPTZ;

CREATE OR REPLACE FUNCTION webhook_events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (account, event_pk, endpoint_id, due_at, created_at)
    SELECT NEW.account, NEW.pk, e.id, COALESCE(NEW.deliver_at, NEW.created_at),
           COALESCE(NEW.deliver_at, NEW.created_at)
      FROM webhook_endpoints e
     WHERE e.account = NEW.account AND e.deleted_at IS NULL AND e.enabled
       AND (e.event_filter IS NULL OR strpos(e.event_filter, ',' || NEW.type || ',') > 0)
       AND (NEW.only_endpoint IS NULL OR e.id = NEW.only_endpoint)
     ORDER BY e.pk;
    RETURN NEW;
END;
$$;
