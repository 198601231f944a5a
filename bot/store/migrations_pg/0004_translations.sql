-- Answerdesk schema, version 4 (PostgreSQL dialect of bot/store/migrations/0004_translations.sql).

CREATE TABLE translation_checks (
    article_id       TEXT NOT NULL,
    lang             TEXT NOT NULL,
    translation_hash TEXT NOT NULL,
    source_lang      TEXT NOT NULL,
    source_hash      TEXT NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL,
    checked_by       TEXT,
    PRIMARY KEY (article_id, lang)
);
