-- Answerdesk schema, version 2 (PostgreSQL dialect of bot/store/migrations/0002_delivery.sql).
-- The tables exist so both backends share version numbers; bot/sqlite_outbox.py and
-- bot/sqlite_notify.py have no PostgreSQL twin yet.

CREATE TABLE outbox (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       TEXT NOT NULL,
    target        TEXT NOT NULL,
    payload       JSONB NOT NULL,
    dedup_key     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ,
    last_error    TEXT,
    result        JSONB,
    created_at    TIMESTAMPTZ NOT NULL,
    sent_at       TIMESTAMPTZ,
    UNIQUE (channel, dedup_key)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt);
CREATE INDEX outbox_target ON outbox (channel, target, status, id);

CREATE TABLE desk_cards (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    desk            TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    episode         TEXT NOT NULL,
    ref             TEXT,
    announced       BOOLEAN NOT NULL DEFAULT FALSE,
    shown_state     TEXT NOT NULL,
    last_message_id BIGINT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (desk, conversation_id, episode)
);
CREATE INDEX desk_cards_active ON desk_cards (desk, active);
CREATE INDEX desk_cards_ref ON desk_cards (desk, ref);

CREATE TABLE relay_cursors (
    channel  TEXT PRIMARY KEY,
    after_id BIGINT NOT NULL
);

CREATE TABLE seen_keys (
    channel    TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, key)
);
CREATE INDEX seen_keys_created ON seen_keys (created_at);
