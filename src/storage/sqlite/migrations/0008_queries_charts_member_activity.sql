-- Queries, charts (SPEC section 3) and Mode's member object (section 5).
--
-- Databases made before this version have no activity columns filled for
-- the events they hold: `reportstats copy` into a new database replays the
-- log and fills them (README, "Decisions where the spec is silent").

-- Bumped by a batch that can change which queries or charts are listed, or
-- where (see src/storage/listing_version.rs): the queries and charts
-- listings keep their remembered positions until it moves.
ALTER TABLE workspaces ADD COLUMN catalog_version INTEGER NOT NULL DEFAULT 0;

-- member_id is derived from the email (domain::listings::derived_id), like
-- a space's id from its token; `reportstats_derived_id` is that function,
-- registered on the connection that migrates.
ALTER TABLE members ADD COLUMN member_id INTEGER;
UPDATE members SET member_id = reportstats_derived_id(email);
ALTER TABLE members ADD COLUMN activated_at INTEGER;
ALTER TABLE members ADD COLUMN last_report_created_at INTEGER;
ALTER TABLE members ADD COLUMN last_report_viewed_at INTEGER;
ALTER TABLE members ADD COLUMN last_report_run_at INTEGER;
ALTER TABLE members ADD COLUMN last_exploration_created_at INTEGER;
ALTER TABLE members ADD COLUMN last_active_at INTEGER;
-- The members listing, by id.
CREATE INDEX members_by_id ON members (workspace_id, member_id) WHERE present;

-- The UTC dates (days since the epoch) on which an email was active: a set,
-- counted on read for total_days_engaged.
CREATE TABLE member_active_days (
    workspace_id INTEGER NOT NULL,
    email        TEXT NOT NULL,
    day          INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, email, day)
) WITHOUT ROWID;

CREATE TABLE queries (
    workspace_id           INTEGER NOT NULL,
    query_token            TEXT NOT NULL,
    query_id               INTEGER NOT NULL,
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
    PRIMARY KEY (workspace_id, query_token)
);
-- The live queries by id with their report: what a walk of the listing (its
-- count, its remembered positions) reads, without the wide rows. The
-- indexes of the catalog hold the columns of their own condition too:
-- SQLite reads those from the row otherwise, which made every walk read
-- every query's row.
CREATE INDEX queries_by_id ON queries (workspace_id, query_id, report_id, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
-- A chart's query, live, by token: the join of the charts listing.
CREATE INDEX queries_live_by_token
    ON queries (workspace_id, query_token, report_id, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX queries_by_report ON queries (workspace_id, report_id);

CREATE TABLE charts (
    workspace_id       INTEGER NOT NULL,
    chart_token        TEXT NOT NULL,
    chart_id           INTEGER NOT NULL,
    definition_at      INTEGER,
    definition_event   TEXT,
    query_token        TEXT,
    creator_email      TEXT,
    chart_type_at      INTEGER,
    chart_type_event   TEXT,
    chart_type         TEXT,
    title_at           INTEGER,
    title_event        TEXT,
    chart_title        TEXT,
    deleted            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, chart_token)
);
CREATE INDEX charts_by_id ON charts (workspace_id, chart_id, query_token, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX charts_by_query ON charts (workspace_id, query_token);

-- `/api/{workspace}/reports/{token}`, which `report_url` points at.
CREATE INDEX reports_by_token ON reports (workspace_id, report_token)
    WHERE definition_at IS NOT NULL AND NOT deleted;
