-- Answerdesk schema, version 5: console sessions that end (issue 14).
-- A signed session cookie carries the agent's session_generation at sign-in; signing out,
-- a new password and removal add one, so every older cookie of that agent stops working.
ALTER TABLE agents ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
