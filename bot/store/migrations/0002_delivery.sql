-- Answerdesk schema, version 2: what the channels deliver and track beside the conversations.
-- Same conventions as 0001: UTC ISO-8601 text timestamps of fixed width.

-- Messages to send on a channel (Slack, Telegram): written before any network call, so an outage
-- of the channel delays a message and never drops it (bot/delivery/outbox.py).
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel       TEXT NOT NULL,  -- whose sender delivers it: "slack", "telegram"
    target        TEXT NOT NULL,  -- where in the channel (a Slack channel id); one target's rows go out in order
    payload       TEXT NOT NULL,  -- JSON that the channel's sender understands
    dedup_key     TEXT NOT NULL,  -- e.g. "msg:<message id>": enqueueing twice sends once
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT NOT NULL,
    claimed_until TEXT,           -- a worker that dies while sending gives the row back at this time
    last_error    TEXT,
    result        TEXT,           -- JSON the sender returned (Slack: channel and ts of the message)
    created_at    TEXT NOT NULL,
    sent_at       TEXT,
    UNIQUE (channel, dedup_key)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt);
CREATE INDEX outbox_target ON outbox (channel, target, status, id);

-- A handed-off conversation as an agents' desk shows it (a Slack card); one per waiting episode.
CREATE TABLE desk_cards (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    desk            TEXT NOT NULL,     -- "slack"
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    episode         TEXT NOT NULL,     -- the conversation's waiting_since when the card was opened
    ref             TEXT,              -- the desk's handle once posted (Slack: "<channel>:<ts>")
    announced       INTEGER NOT NULL DEFAULT 0,
    shown_state     TEXT NOT NULL,     -- "<state>:<agent id>" as the card last showed it
    last_message_id INTEGER NOT NULL,  -- messages up to this one are on the card or in its thread
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    UNIQUE (desk, conversation_id, episode)
);
CREATE INDEX desk_cards_active ON desk_cards (desk, active);
CREATE INDEX desk_cards_ref ON desk_cards (desk, ref);

-- How far each channel's relay has passed what the desk said to its customers (bot/delivery/relay.py).
CREATE TABLE relay_cursors (
    channel  TEXT PRIMARY KEY,
    after_id INTEGER NOT NULL
);

-- Deliveries a channel has handled once (a retried Slack event, a double-clicked button).
CREATE TABLE seen_keys (
    channel    TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel, key)
);
CREATE INDEX seen_keys_created ON seen_keys (created_at);
