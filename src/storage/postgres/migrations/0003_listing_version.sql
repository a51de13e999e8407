-- The version at which a batch last moved reports already listed (created,
-- deleted or moved one in the middle of the listing, or changed a space; see
-- src/storage/positions.rs): pages of a listing start at the same reports
-- until it moves. Existing workspaces start with it equal to
-- their version, so nothing computed before counts as current.
ALTER TABLE workspaces ADD COLUMN listing_version BIGINT NOT NULL DEFAULT 0;
UPDATE workspaces SET listing_version = version;
