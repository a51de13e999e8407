-- The event log in two parts, so that an import writes each event's body
-- once, sequentially, and the per-event B-tree work is on narrow rows:
--
-- * event_ids holds every stored id: the idempotency check. Without bodies
--   its pages hold about a hundred ids each, so checking a batch for
--   duplicates touches few pages and mostly cached ones.
-- * event_blocks holds the bodies, in the canonical JSON of
--   src/domain/canonical.rs, one per line, each event in exactly one block.
--   A batch (or an import's chunk) appends one block of its new events.

CREATE TABLE event_ids (
    workspace_id INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
) WITHOUT ROWID;

CREATE TABLE event_blocks (
    block_id     INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    bodies       TEXT NOT NULL
);
CREATE INDEX event_blocks_by_workspace ON event_blocks (workspace_id, block_id);

INSERT INTO event_ids (workspace_id, event_id)
SELECT workspace_id, event_id FROM events;

INSERT INTO event_blocks (workspace_id, bodies)
SELECT workspace_id, group_concat(body, char(10) ORDER BY event_id)
FROM (
    SELECT workspace_id, event_id, body,
           (row_number() OVER (PARTITION BY workspace_id ORDER BY event_id) - 1) / 10000 AS block
    FROM events
)
GROUP BY workspace_id, block
ORDER BY workspace_id, block;

DROP TABLE events;
