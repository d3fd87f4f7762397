-- Webhook delivery: the outbox. Kept aligned with migrations/postgres/0008_webhooks.sql (a test
-- compares the two). An event is written in the same transaction as the change it reports,
-- with one delivery per app that should receive it; the dispatcher claims due deliveries and
-- records every attempt.

-- What happened: HighLevel's payload without the per-delivery envelope (appId, timestamp,
-- webhookId). location_id is NULL for agency-level events (an app installed on an agency).
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL,
    location_id TEXT,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_events_location ON webhook_events(location_id, created_at);

-- One event for one app. Its id is the `webhookId` the receiver sees, the same on every retry.
-- status: pending (due at next_attempt_at), sending (claimed by `claimed_by` until
-- lease_until), delivered, failed (gave up), skipped (the app was uninstalled or lost its URL).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES webhook_events(id),
    app_id          TEXT NOT NULL REFERENCES apps(id),
    company_id      TEXT NOT NULL,
    location_id     TEXT,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    -- When the delivery (re)entered the queue: the retry horizon counts from here.
    queued_at       BIGINT NOT NULL,
    lease_until     BIGINT,
    claimed_by      TEXT,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_app ON webhook_deliveries(app_id, created_at);
CREATE INDEX webhook_deliveries_location ON webhook_deliveries(location_id, created_at);

-- Every POST made: what the receiver answered (or why there was no answer), and how fast.
CREATE TABLE webhook_attempts (
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries(id),
    attempt          BIGINT NOT NULL,
    location_id      TEXT,
    dispatcher       TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    latency_ms       BIGINT NOT NULL,
    status_code      BIGINT,
    error            TEXT,
    response_snippet TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- A paused app's deliveries wait (they are not claimed) until it is resumed.
ALTER TABLE apps ADD COLUMN webhooks_paused_at BIGINT;
