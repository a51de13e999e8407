-- Blocks of the event log are now written compressed: event_blocks.bodies
-- holds a zstd frame of the text (a BLOB) where it held the text itself.
-- Blocks written before keep their TEXT and read as they did (see
-- src/storage/sqlite/log.rs). Nothing is rewritten here; the version number
-- is what changes, so that an older reportstats, which cannot read the new
-- blocks, refuses this database instead of failing on its log.
SELECT 1;
