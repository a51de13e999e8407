-- Queries, charts (SPEC section 3) and Mode's member object (section 5).
--
-- Databases made before this version have no activity columns filled for
-- the events they hold: `reportstats copy` into a new database replays the
-- log and fills them (README, "Decisions where the spec is silent").

-- Bumped by a batch that can change which queries or charts are listed, or
-- where (see src/storage/listing_version.rs): the queries and charts
-- listings keep their remembered positions until it moves.
ALTER TABLE workspaces ADD COLUMN catalog_version BIGINT NOT NULL DEFAULT 0;

-- member_id is derived from the email as domain::listings::derived_id
-- derives it: the first 53 bits of the SHA-256, at least 1.
ALTER TABLE members ADD COLUMN member_id BIGINT;
UPDATE members SET member_id = greatest(1,
    ('x' || substr(encode(sha256(convert_to(email, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint
        >> 11 & ((1::bigint << 53) - 1));
ALTER TABLE members ADD COLUMN activated_at BIGINT;
ALTER TABLE members ADD COLUMN last_report_created_at BIGINT;
ALTER TABLE members ADD COLUMN last_report_viewed_at BIGINT;
ALTER TABLE members ADD COLUMN last_report_run_at BIGINT;
ALTER TABLE members ADD COLUMN last_exploration_created_at BIGINT;
ALTER TABLE members ADD COLUMN last_active_at BIGINT;
CREATE INDEX members_by_id ON members (workspace_id, member_id) WHERE present;

CREATE TABLE member_active_days (
    workspace_id BIGINT NOT NULL,
    email        TEXT COLLATE "C" NOT NULL,
    day          BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, email, day)
);

CREATE TABLE queries (
    workspace_id      BIGINT NOT NULL,
    query_token       TEXT NOT NULL,
    query_id          BIGINT NOT NULL,
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
    workspace_id     BIGINT NOT NULL,
    chart_token      TEXT NOT NULL,
    chart_id         BIGINT NOT NULL,
    definition_at    BIGINT,
    definition_event TEXT COLLATE "C",
    query_token      TEXT,
    creator_email    TEXT,
    chart_type_at    BIGINT,
    chart_type_event TEXT COLLATE "C",
    chart_type       TEXT,
    title_at         BIGINT,
    title_event      TEXT COLLATE "C",
    chart_title      TEXT,
    deleted          BOOLEAN NOT NULL,
    PRIMARY KEY (workspace_id, chart_token)
);
CREATE INDEX charts_by_id ON charts (workspace_id, chart_id, query_token, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX charts_by_query ON charts (workspace_id, query_token);

-- `/api/{workspace}/reports/{token}`, which `report_url` points at.
CREATE INDEX reports_by_token ON reports (workspace_id, report_token)
    WHERE definition_at IS NOT NULL AND NOT deleted;
