-- Answerdesk schema, version 4: translations tied to their source (bot/store/sql_translations.py).
-- Same conventions as 0001: UTC ISO-8601 text timestamps of fixed width.

-- What the source of each translation looked like when the translation was written (seen changed
-- at a reindex) or confirmed by an agent: the source changing later, and the translation not,
-- makes it stale (index/translations.py).
CREATE TABLE translation_checks (
    article_id       TEXT NOT NULL,
    lang             TEXT NOT NULL,  -- the translation's language
    translation_hash TEXT NOT NULL,  -- its title, questions and body when recorded
    source_lang      TEXT NOT NULL,  -- the version it is translated from
    source_hash      TEXT NOT NULL,  -- that version's title, questions and body when recorded
    recorded_at      TEXT NOT NULL,
    checked_by       TEXT,           -- the agent who marked it checked; NULL: recorded by a reindex
    PRIMARY KEY (article_id, lang)
);
