-- Reports keyed by their primary key alone (WITHOUT ROWID): a rowid table
-- keeps the key in a separate index, so every merge into a report searched
-- two B-trees and kept both. At a million reports the last of ten 1M-event
-- files took 15.6 s to import instead of 20.4 (BENCHMARKS.md). Columns,
-- indexes and rows stay as they were.
CREATE TABLE reports_by_key (
    workspace_id           INTEGER NOT NULL,
    report_id              INTEGER NOT NULL,
    definition_at          INTEGER,
    definition_event       TEXT,
    report_token           TEXT,
    creator_email          TEXT,
    name_at                INTEGER,
    name_event             TEXT,
    name                   TEXT,
    description_at         INTEGER,
    description_event      TEXT,
    description            TEXT,
    space_at               INTEGER,
    space_event            TEXT,
    space_token            TEXT,
    last_run_at            INTEGER,
    last_run_event         TEXT,
    last_run_token         TEXT,
    last_run_state         TEXT,
    deleted                INTEGER NOT NULL,
    view_count             INTEGER NOT NULL,
    last_viewed_at         INTEGER,
    created_at             INTEGER,
    edited_at              INTEGER,
    last_successful_run_at INTEGER,
    PRIMARY KEY (workspace_id, report_id)
) WITHOUT ROWID;

INSERT INTO reports_by_key (
    workspace_id, report_id, definition_at, definition_event, report_token,
    creator_email, name_at, name_event, name, description_at,
    description_event, description, space_at, space_event, space_token,
    last_run_at, last_run_event, last_run_token, last_run_state, deleted,
    view_count, last_viewed_at, created_at, edited_at, last_successful_run_at)
SELECT
    workspace_id, report_id, definition_at, definition_event, report_token,
    creator_email, name_at, name_event, name, description_at,
    description_event, description, space_at, space_event, space_token,
    last_run_at, last_run_event, last_run_token, last_run_state, deleted,
    view_count, last_viewed_at, created_at, edited_at, last_successful_run_at
FROM reports;

-- Dropping the table drops its indexes; they are made again below.
DROP TABLE reports;
ALTER TABLE reports_by_key RENAME TO reports;

-- As in 0001, live reports (created, not deleted), the ones every listing
-- shows; now also holding the two columns of their condition. SQLite checks
-- a query's condition on every entry even when the index's own condition
-- implies it, so without them a count read each live report's row: 8 ms
-- for the 19,426 reports of BENCHMARKS.md's ingest stream, 0.5 ms with.
CREATE INDEX reports_live ON reports
    (workspace_id, report_id, space_token, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX reports_live_by_space ON reports
    (workspace_id, space_token, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
