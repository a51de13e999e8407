-- Dashboard sessions (SPEC section 9): the credential a browser signed in
-- with, keyed by the SHA-256 of its session cookie (never the cookie
-- itself). In the database, so that every server behind a load balancer
-- knows every session and a sign-out ends it on all of them. Like
-- api_keys, a reference table when distributed by workspace.
CREATE TABLE dashboard_sessions (
    session_sha256   BYTEA PRIMARY KEY,
    workspace_id     BIGINT NOT NULL,
    credential_kind  TEXT NOT NULL,
    credential_token TEXT NOT NULL,
    started_at       BIGINT NOT NULL
);
-- Expired sessions are removed by their start.
CREATE INDEX dashboard_sessions_by_start ON dashboard_sessions (started_at);
