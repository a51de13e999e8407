-- The version at which the set of listed reports, spaces or members last
-- changed (see src/storage/positions.rs): pages of a listing start at the
-- same reports until it moves. Existing workspaces start with it equal to
-- their version, so nothing computed before counts as current.
ALTER TABLE workspaces ADD COLUMN listing_version INTEGER NOT NULL DEFAULT 0;
UPDATE workspaces SET listing_version = version;
