-- A batch too large for one transaction of the one writer is written a
-- slice at a time (storage::group_commit). Until its last slice commits,
-- all of its bodies (a zstd frame, as event_blocks keeps them) wait here
-- with how many of them are stored, so that a process stopped between two
-- slices finishes the batch when the database is next opened.
CREATE TABLE sliced_batches (
    batch_id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    bodies BLOB NOT NULL,
    written INTEGER NOT NULL
);
