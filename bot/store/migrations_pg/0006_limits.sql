-- Answerdesk schema, version 6 (PostgreSQL dialect of bot/store/migrations/0006_limits.sql):
-- fixed-window rate-limit counters and sign-in failure counters, in whole Unix seconds.
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);
