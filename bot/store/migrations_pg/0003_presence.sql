-- Answerdesk schema, version 3 (PostgreSQL dialect of bot/store/migrations/0003_presence.sql):
-- the "missed" conversation state, agents' presence (seen_at) and removal (removed_at).

ALTER TABLE conversations DROP CONSTRAINT conversations_state_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_state_check
    CHECK (state IN ('bot', 'waiting', 'missed', 'agent', 'closed'));

ALTER TABLE agents ADD COLUMN seen_at TIMESTAMPTZ;
ALTER TABLE agents ADD COLUMN removed_at TIMESTAMPTZ;
CREATE INDEX agents_seen ON agents (seen_at);
