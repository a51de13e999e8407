-- Queries keyed by id first (WITHOUT ROWID), so that their rows lie in the
-- order `/queries` pages them: in token order a page of 1000 queries read
-- about one table page per query. The id is a function of the token, so
-- the token alone is still what is unique. And the live reports' index
-- holds each report's token, which a queries page shows: it read each
-- query's report row for it (BENCHMARKS.md, part 5).
CREATE TABLE queries_by_key (
    workspace_id           INTEGER NOT NULL,
    query_id               INTEGER NOT NULL,
    query_token            TEXT NOT NULL,
    definition_at          INTEGER,
    definition_event       TEXT,
    report_id              INTEGER,
    creator_email          TEXT,
    name_at                INTEGER,
    name_event             TEXT,
    name                   TEXT,
    raw_query_at           INTEGER,
    raw_query_event        TEXT,
    raw_query              TEXT,
    data_source_at         INTEGER,
    data_source_event      TEXT,
    data_source_token      TEXT,
    deleted                INTEGER NOT NULL,
    created_at             INTEGER,
    updated_at             INTEGER,
    PRIMARY KEY (workspace_id, query_id, query_token)
) WITHOUT ROWID;

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

-- Dropping the table drops its indexes; they are made again as in 0008.
DROP TABLE queries;
ALTER TABLE queries_by_key RENAME TO queries;

CREATE INDEX queries_by_id ON queries (workspace_id, query_id, report_id, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX queries_live_by_token
    ON queries (workspace_id, query_token, report_id, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX queries_by_report ON queries (workspace_id, report_id);

-- As in 0005, with the token last: walks that do not read it are as before.
DROP INDEX reports_live;
CREATE INDEX reports_live ON reports
    (workspace_id, report_id, space_token, definition_at, deleted, report_token)
    WHERE definition_at IS NOT NULL AND NOT deleted;
