-- Answerdesk schema, version 5 (PostgreSQL dialect of bot/store/migrations/0005_sessions.sql):
-- agents' session_generation, which ends every console session of an agent when it grows.
ALTER TABLE agents ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
