-- Dashboard sessions (SPEC section 9): the credential a browser signed in
-- with, keyed by the SHA-256 of its session cookie (never the cookie
-- itself). In the database, so that a sign-out ends a session on every
-- server, and a session survives a restart.
CREATE TABLE dashboard_sessions (
    session_sha256   BLOB PRIMARY KEY,
    workspace_id     INTEGER NOT NULL,
    credential_kind  TEXT NOT NULL,
    credential_token TEXT NOT NULL,
    started_at       INTEGER NOT NULL
) WITHOUT ROWID;
-- Expired sessions are removed by their start.
CREATE INDEX dashboard_sessions_by_start ON dashboard_sessions (started_at);
