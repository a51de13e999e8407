-- Signature tokens: read-only credentials minted with a workspace API key.
-- The access key and secret are kept only as SHA-256 hashes. Like
-- api_keys, a reference table when distributed by workspace.
CREATE TABLE signature_tokens (
    workspace_id       BIGINT NOT NULL,
    token              TEXT NOT NULL,
    name               TEXT NOT NULL,
    access_key_sha256  BYTEA NOT NULL,
    access_secret_sha256 BYTEA NOT NULL,
    authentication_for TEXT NOT NULL,
    authorization_type TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    revoked_at         BIGINT,
    PRIMARY KEY (workspace_id, token)
);
-- A Bearer credential names its token alone, before the workspace is known.
CREATE UNIQUE INDEX signature_tokens_by_token ON signature_tokens (token);
