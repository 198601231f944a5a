-- Answerdesk schema, version 6: rate limits that hold across workers and hosts (issue 14).
-- One row per key and fixed window: `count` requests so far; a sign-in failure counter is a row
-- with window_start 0 whose count is the failures in a row. Times are whole Unix seconds;
-- rows past expires_at are pruned now and then (bot/store/sql_limits.py).
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);
