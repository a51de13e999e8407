-- The initial schema, the same tables as SQLite's (see
-- src/storage/sqlite/migrations/0001_initial.sql for what each holds).
--
-- Every table is keyed by workspace first and nothing refers across
-- workspaces, so all but `workspaces` and `api_keys` can be distributed by
-- workspace_id (e.g. Citus: SELECT create_distributed_table('events',
-- 'workspace_id'), ...) and those two made reference tables.
--
-- Instants are BIGINT microseconds since the Unix epoch, as in SQLite, so
-- both backends compare the same numbers. Event ids use the "C" collation:
-- last-writer-wins ties are broken by byte order, whatever the database's
-- default collation.

CREATE TABLE workspaces (
    workspace_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    -- Bumped by every batch that stores something: cached pages of an older
    -- version are stale.
    version      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    workspace_id  BIGINT NOT NULL,
    token         TEXT NOT NULL,
    secret_sha256 BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    PRIMARY KEY (workspace_id, token)
);
CREATE UNIQUE INDEX api_keys_by_token ON api_keys (token);

CREATE TABLE events (
    workspace_id BIGINT NOT NULL,
    event_id     TEXT COLLATE "C" NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
);

CREATE TABLE reports (
    workspace_id           BIGINT NOT NULL,
    report_id              BIGINT NOT NULL,
    definition_at          BIGINT,
    definition_event       TEXT COLLATE "C",
    report_token           TEXT,
    creator_email          TEXT,
    name_at                BIGINT,
    name_event             TEXT COLLATE "C",
    name                   TEXT,
    description_at         BIGINT,
    description_event      TEXT COLLATE "C",
    description            TEXT,
    space_at               BIGINT,
    space_event            TEXT COLLATE "C",
    space_token            TEXT,
    last_run_at            BIGINT,
    last_run_event         TEXT COLLATE "C",
    last_run_token         TEXT,
    last_run_state         TEXT,
    deleted                BOOLEAN NOT NULL,
    view_count             BIGINT NOT NULL,
    last_viewed_at         BIGINT,
    created_at             BIGINT,
    edited_at              BIGINT,
    last_successful_run_at BIGINT,
    PRIMARY KEY (workspace_id, report_id)
);
-- Live reports (created, not deleted), the ones every listing shows: a count
-- or a page walks this narrow index, not the wide rows, and the reports of
-- personal spaces are counted from the spaces' side.
CREATE INDEX reports_live ON reports (workspace_id, report_id, space_token)
    WHERE definition_at IS NOT NULL AND NOT deleted;
CREATE INDEX reports_live_by_space ON reports (workspace_id, space_token)
    WHERE definition_at IS NOT NULL AND NOT deleted;

CREATE TABLE report_editors (
    workspace_id BIGINT NOT NULL,
    report_id    BIGINT NOT NULL,
    email        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, email)
);

CREATE TABLE report_manual_runs (
    workspace_id BIGINT NOT NULL,
    report_id    BIGINT NOT NULL,
    email        TEXT NOT NULL,
    last_run_at  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, email)
);

CREATE TABLE report_scheduled_runs (
    workspace_id   BIGINT NOT NULL,
    report_id      BIGINT NOT NULL,
    schedule_token TEXT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, schedule_token)
);

CREATE TABLE schedules (
    workspace_id     BIGINT NOT NULL,
    schedule_token   TEXT NOT NULL,
    definition_at    BIGINT,
    definition_event TEXT COLLATE "C",
    report_id        BIGINT,
    creator_email    TEXT,
    paused_at        BIGINT,
    paused_event     TEXT COLLATE "C",
    paused           BOOLEAN NOT NULL,
    deleted          BOOLEAN NOT NULL,
    PRIMARY KEY (workspace_id, schedule_token)
);
CREATE INDEX schedules_by_report ON schedules (workspace_id, report_id);

CREATE TABLE explorations (
    workspace_id      BIGINT NOT NULL,
    exploration_token TEXT NOT NULL,
    definition_at     BIGINT,
    definition_event  TEXT COLLATE "C",
    report_id         BIGINT,
    creator_email     TEXT,
    deleted           BOOLEAN NOT NULL,
    PRIMARY KEY (workspace_id, exploration_token)
);
CREATE INDEX explorations_by_report ON explorations (workspace_id, report_id);

-- space_id is derived from the token (see domain::listings::space_id), so
-- it is the same in every database that holds the same events.
CREATE TABLE spaces (
    workspace_id     BIGINT NOT NULL,
    space_token      TEXT NOT NULL,
    space_id         BIGINT NOT NULL,
    definition_at    BIGINT,
    definition_event TEXT COLLATE "C",
    name             TEXT,
    description      TEXT,
    space_type       TEXT,
    deleted          BOOLEAN NOT NULL,
    PRIMARY KEY (workspace_id, space_token)
);
CREATE INDEX spaces_by_id ON spaces (workspace_id, space_id);

-- Members are listed by email in byte order, as in SQLite.
CREATE TABLE members (
    workspace_id  BIGINT NOT NULL,
    email         TEXT COLLATE "C" NOT NULL,
    profile_at    BIGINT,
    profile_event TEXT COLLATE "C",
    username      TEXT,
    name          TEXT,
    present_at    BIGINT,
    present_event TEXT COLLATE "C",
    present       BOOLEAN,
    PRIMARY KEY (workspace_id, email)
);
