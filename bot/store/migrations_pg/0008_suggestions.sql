-- Answerdesk schema, version 8: decisions on suggestions from traffic (bot/store/sql_suggestions.py).
-- PostgreSQL dialect of bot/store/migrations/0008_suggestions.sql.

-- A suggestion is worked out again from the conversations each time it is listed
-- (bot/suggestions/mine.py); what is kept is the agent's decision on it, by the suggestion's id,
-- so a rejected one is not offered again and an accepted one is re-asked after each reindex.
CREATE TABLE suggestion_decisions (
    id            TEXT PRIMARY KEY,   -- bot.suggestions.model.suggestion_id
    kind          TEXT NOT NULL CHECK (kind IN ('question', 'note', 'draft')),
    source        TEXT NOT NULL,      -- picked | agent | better | gap
    article_id    TEXT,               -- the article written to (a draft: its new id once accepted)
    lang          TEXT NOT NULL,
    text          TEXT NOT NULL,      -- the question as suggested, personal data removed
    written       TEXT,               -- what was written, when an agent edited it; a draft: its questions, one a line
    status        TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    decided_by    TEXT NOT NULL,      -- the agent's name (or the CLI's user)
    decided_at    TIMESTAMPTZ NOT NULL,
    customers     INTEGER NOT NULL,   -- how many customers had asked it then
    file          TEXT,               -- the KB file written, relative to the KB folder
    revision      TEXT,               -- the git commit of the write, when the KB is a checkout
    before_action TEXT,               -- what the bot did with the question when it was accepted
    before_article TEXT,
    after_action  TEXT,               -- the same, re-asked after the last reindex
    after_article TEXT,
    after_at      TIMESTAMPTZ
);
CREATE INDEX suggestion_decisions_decided ON suggestion_decisions (decided_at);
