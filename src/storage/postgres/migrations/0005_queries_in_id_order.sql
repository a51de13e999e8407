-- Queries keyed by id first, as on SQLite (where this orders the rows the
-- way `/queries` pages them): the declaration in `storage::schema` and its
-- upsert are the same for both backends. The id is a function of the
-- token, so the token alone is still what is unique.
CREATE TABLE queries_by_key (
    workspace_id      BIGINT NOT NULL,
    query_id          BIGINT NOT NULL,
    query_token       TEXT NOT NULL,
    definition_at     BIGINT,
    definition_event  TEXT COLLATE "C",
    report_id         BIGINT,
    creator_email     TEXT,
    name_at           BIGINT,
    name_event        TEXT COLLATE "C",
    name              TEXT,
    raw_query_at      BIGINT,
    raw_query_event   TEXT COLLATE "C",
    raw_query         TEXT,
    data_source_at    BIGINT,
    data_source_event TEXT COLLATE "C",
    data_source_token TEXT,
    deleted           BOOLEAN NOT NULL,
    created_at        BIGINT,
    updated_at        BIGINT,
    PRIMARY KEY (workspace_id, query_id, query_token)
);

INSERT INTO queries_by_key (
    workspace_id, query_id, query_token, definition_at, definition_event,
    report_id, creator_email, name_at, name_event, name, raw_query_at,
    raw_query_event, raw_query, data_source_at, data_source_event,
    data_source_token, deleted, created_at, updated_at)
SELECT
    workspace_id, query_id, query_token, definition_at, definition_event,
    report_id, creator_email, name_at, name_event, name, raw_query_at,
    raw_query_event, raw_query, data_source_at, data_source_event,
    data_source_token, deleted, created_at, updated_at
FROM queries;

DROP TABLE queries;
ALTER TABLE queries_by_key RENAME TO queries;
ALTER INDEX queries_by_key_pkey RENAME TO queries_pkey;

CREATE INDEX queries_by_id ON queries (workspace_id, query_id, report_id, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX queries_live_by_token
    ON queries (workspace_id, query_token, report_id, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX queries_by_report ON queries (workspace_id, report_id);
