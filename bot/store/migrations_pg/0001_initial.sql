-- Answerdesk schema, version 1 (PostgreSQL dialect of bot/store/migrations/0001_initial.sql).
-- Applied by bot.store.postgres inside one transaction, with its row in schema_version; never edit
-- an applied migration, add NNNN_<what>.sql here and in bot/store/migrations with the same number.

CREATE TABLE conversations (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    external_user TEXT NOT NULL,
    lang          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('bot', 'waiting', 'agent', 'closed')),
    agent         TEXT,  -- no foreign key: agents may come from Slack without a console account
    topic         TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    waiting_since TIMESTAMPTZ,
    email         TEXT,
    meta          JSONB NOT NULL DEFAULT '{}'
);
-- One open conversation per user and channel, so two first messages racing cannot start two.
CREATE UNIQUE INDEX conversations_open_user ON conversations (channel, external_user) WHERE state <> 'closed';
CREATE INDEX conversations_state ON conversations (state, waiting_since);
CREATE INDEX conversations_created ON conversations (created_at);

CREATE TABLE messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,  -- the conversation's, copied so retried deliveries are unique per channel
    author          TEXT NOT NULL CHECK (author IN ('customer', 'bot', 'agent', 'system')),
    text            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    lang            TEXT,
    action          TEXT,
    article_id      TEXT,
    decision        JSONB,
    choices         JSONB NOT NULL DEFAULT '[]',
    external_id     TEXT,
    agent           TEXT,
    UNIQUE (channel, external_id)  -- NULLs are distinct
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE feedback (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    helpful         BOOLEAN,
    csat            INTEGER CHECK (csat BETWEEN 1 AND 5),
    created_at      TIMESTAMPTZ NOT NULL,
    CHECK ((helpful IS NULL) <> (csat IS NULL))
);
CREATE INDEX feedback_conversation ON feedback (conversation_id);
CREATE INDEX feedback_created ON feedback (created_at);

CREATE TABLE tickets (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    lang            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    created_at      TIMESTAMPTZ NOT NULL,
    answered_at     TIMESTAMPTZ,
    answer          TEXT
);
CREATE INDEX tickets_status ON tickets (status, created_at);
CREATE INDEX tickets_created ON tickets (created_at);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    languages     JSONB NOT NULL DEFAULT '[]',
    created_at    TIMESTAMPTZ NOT NULL
);
