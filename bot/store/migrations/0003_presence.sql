-- Answerdesk schema, version 3: no customer lost (issue 13).
-- * A conversation can be "missed": handed off when no agent was available (or none took it in
--   time). It stays in the agents' queue, the bot keeps talking, until an agent closes it.
-- * Agents have presence (seen_at: their last activity in the console or an agents' chat
--   channel) and can be removed (removed_at; the row stays, since messages name agent ids).
-- SQLite cannot change a CHECK constraint, so conversations is rebuilt (SQLite's documented
-- procedure: bot/store/sqlite.py runs every migration with foreign keys off and checks them
-- before it commits). Same columns, same order, same indexes.

CREATE TABLE conversations_new (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    external_user TEXT NOT NULL,
    lang          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('bot', 'waiting', 'missed', 'agent', 'closed')),
    agent         TEXT,  -- no foreign key: agents may come from Slack without a console account
    topic         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    waiting_since TEXT,  -- set while waiting or missed: when the conversation joined the queue
    email         TEXT,
    meta          TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO conversations_new SELECT id, channel, external_user, lang, state, agent, topic, created_at, updated_at, waiting_since, email, meta FROM conversations;
DROP TABLE conversations;
ALTER TABLE conversations_new RENAME TO conversations;
CREATE UNIQUE INDEX conversations_open_user ON conversations (channel, external_user) WHERE state <> 'closed';
CREATE INDEX conversations_state ON conversations (state, waiting_since);
CREATE INDEX conversations_created ON conversations (created_at);

ALTER TABLE agents ADD COLUMN seen_at TEXT;
ALTER TABLE agents ADD COLUMN removed_at TEXT;
CREATE INDEX agents_seen ON agents (seen_at);
