-- The initial schema. Every table is keyed by workspace first; nothing refers
-- across workspaces. Instants are integer microseconds since the Unix epoch.
-- A last-writer-wins register `x` is stored as `x_at`, `x_event` (the stamp
-- of the write that set it) and its value columns; see src/storage/sql.rs.

CREATE TABLE workspaces (
    workspace_id INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    -- Bumped by every batch that stores something: cached pages of an older
    -- version are stale.
    version      INTEGER NOT NULL DEFAULT 0
);

-- Workspace API keys. Only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    workspace_id  INTEGER NOT NULL,
    token         TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    PRIMARY KEY (workspace_id, token)
);
-- A request names its key by token alone, before the workspace is known.
CREATE UNIQUE INDEX api_keys_by_token ON api_keys (token);

-- The event log, the source of truth: each event in its canonical JSON form
-- (with `occurred_at` filled in), stored once per id.
CREATE TABLE events (
    workspace_id INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
) WITHOUT ROWID;

-- One row per report id any event mentioned, created or not yet: a view can
-- arrive before its report_created. A report exists once definition_at is
-- set, and is gone for good once deleted is.
CREATE TABLE reports (
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
);
-- Live reports (created, not deleted), the ones every listing shows: a count
-- or a page walks this narrow index, not the wide rows, and the reports of
-- personal spaces are counted from the spaces' side.
CREATE INDEX reports_live ON reports (workspace_id, report_id, space_token)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX reports_live_by_space ON reports (workspace_id, space_token)
    WHERE definition_at IS NOT NULL AND NOT deleted;

-- Members with a report_edited event for a report (the creator is added on
-- read: who created a report is itself a register that can change).
CREATE TABLE report_editors (
    workspace_id INTEGER NOT NULL,
    report_id    INTEGER NOT NULL,
    email        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, email)
) WITHOUT ROWID;

-- Each member's latest manual run of a report. Whether it is recent depends
-- on the time of the request, so it is decided on read.
CREATE TABLE report_manual_runs (
    workspace_id INTEGER NOT NULL,
    report_id    INTEGER NOT NULL,
    email        TEXT NOT NULL,
    last_run_at  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, report_id, email)
) WITHOUT ROWID;

-- Schedules that ran a report at least once; their creators are joined on
-- read, since a schedule_created can arrive after its runs.
CREATE TABLE report_scheduled_runs (
    workspace_id   INTEGER NOT NULL,
    report_id      INTEGER NOT NULL,
    schedule_token TEXT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, schedule_token)
) WITHOUT ROWID;

CREATE TABLE schedules (
    workspace_id     INTEGER NOT NULL,
    schedule_token   TEXT NOT NULL,
    definition_at    INTEGER,
    definition_event TEXT,
    report_id        INTEGER,
    creator_email    TEXT,
    paused_at        INTEGER,
    paused_event     TEXT,
    paused           INTEGER NOT NULL,
    deleted          INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, schedule_token)
);
CREATE INDEX schedules_by_report ON schedules (workspace_id, report_id);

CREATE TABLE explorations (
    workspace_id      INTEGER NOT NULL,
    exploration_token TEXT NOT NULL,
    definition_at     INTEGER,
    definition_event  TEXT,
    report_id         INTEGER,
    creator_email     TEXT,
    deleted           INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, exploration_token)
);
CREATE INDEX explorations_by_report ON explorations (workspace_id, report_id);

-- space_id is derived from the token (see domain::listings::space_id), so
-- it is the same in every database that holds the same events.
CREATE TABLE spaces (
    workspace_id     INTEGER NOT NULL,
    space_token      TEXT NOT NULL,
    space_id         INTEGER NOT NULL,
    definition_at    INTEGER,
    definition_event TEXT,
    name             TEXT,
    description      TEXT,
    space_type       TEXT,
    deleted          INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, space_token)
);
CREATE INDEX spaces_by_id ON spaces (workspace_id, space_id);

CREATE TABLE members (
    workspace_id  INTEGER NOT NULL,
    email         TEXT NOT NULL,
    profile_at    INTEGER,
    profile_event TEXT,
    username      TEXT,
    name          TEXT,
    present_at    INTEGER,
    present_event TEXT,
    present       INTEGER,
    PRIMARY KEY (workspace_id, email)
);
