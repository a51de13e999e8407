-- Usage per date for each scope of a listing (SPEC section 8: personal
-- spaces left out, or all), summed over the spaces of 0008: what a
-- workspace's daily series, its views over days and its daily viewers read,
-- in rows per date rather than per space and date.
--
-- `viewer_days`: for each (date, viewer), in how many spaces the viewer
-- viewed a live report that date (`space_viewer_days` rows above zero),
-- personal ones apart. Distinct viewers over days, in either scope, are a
-- count of these rows.
--
-- `scope_days`: per date, the views and runs of the spaces that are
-- personal (`personal` TRUE) and of the others, and the viewers of the date
-- counted once: at FALSE a viewer of any non-personal space, at TRUE a
-- viewer of personal spaces alone. A listing's scope reads the row at
-- FALSE, or both.
--
-- A space is personal while its type is 'private' (one with no type, or no
-- row yet, is not: the listings' rule). The triggers keep one law, in any
-- order of events: these tables equal the sums of `space_days` and
-- `space_viewer_days` by the spaces' types now. The space rows add
-- themselves at their space's type; a space whose type crosses 'private'
-- moves its rows to the other side (through the indexes by space below).
-- Concurrent batches stay exact through an advisory lock per space (keyed
-- by the hashes of the workspace and the token, apart from the workspace
-- locks' single keys): a statement adding rows of a space holds it shared
-- before it reads the space's type, and a move takes it exclusively before
-- it reads the space's rows, so a move waits for the batches in flight to
-- commit and then reads their rows, and a batch after it reads the new type.
-- A row lock would not do: the space's row may not exist yet.
--
-- A workspace marked `usage_sums_pending` is left to the rebuild
-- (src/storage/usage_sums.rs), as in 0008; this migration marks them all.
-- The triggers run once per statement on its transition tables, as 0008's.
UPDATE workspaces SET usage_sums_pending = TRUE;

CREATE TABLE viewer_days (
    workspace_id    BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    viewer_id       BIGINT NOT NULL,
    listed_spaces   BIGINT NOT NULL,
    personal_spaces BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day, viewer_id)
);

CREATE TABLE scope_days (
    workspace_id   BIGINT NOT NULL,
    day            BIGINT NOT NULL,
    personal       BOOLEAN NOT NULL,
    views          BIGINT NOT NULL,
    manual_runs    BIGINT NOT NULL,
    scheduled_runs BIGINT NOT NULL,
    failed_runs    BIGINT NOT NULL,
    viewers        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day, personal)
);

CREATE INDEX space_days_by_space ON space_days (workspace_id, space_token);
CREATE INDEX space_viewer_days_by_space ON space_viewer_days (workspace_id, space_token);

CREATE FUNCTION reportstats_space_days_scoped() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_rows)) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext(l.workspace_id::text), hashtext(l.space_token))
    FROM (SELECT DISTINCT workspace_id, space_token FROM new_rows ORDER BY 1, 2) l;
    EXECUTE format($sql$
        INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
            failed_runs, viewers)
        SELECT d.workspace_id, d.day, coalesce(s.space_type = 'private', FALSE), sum(d.views),
            sum(d.manual_runs), sum(d.scheduled_runs), sum(d.failed_runs), 0
        FROM (%s) d
        LEFT JOIN spaces s ON s.workspace_id = d.workspace_id AND s.space_token = d.space_token
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
            views = scope_days.views + EXCLUDED.views,
            manual_runs = scope_days.manual_runs + EXCLUDED.manual_runs,
            scheduled_runs = scope_days.scheduled_runs + EXCLUDED.scheduled_runs,
            failed_runs = scope_days.failed_runs + EXCLUDED.failed_runs
    $sql$, CASE TG_OP WHEN 'INSERT' THEN
        'SELECT workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs
         FROM new_rows'
    ELSE
        'SELECT n.workspace_id, n.day, n.space_token, n.views - o.views AS views,
             n.manual_runs - o.manual_runs AS manual_runs,
             n.scheduled_runs - o.scheduled_runs AS scheduled_runs,
             n.failed_runs - o.failed_runs AS failed_runs
         FROM new_rows n JOIN old_rows o USING (workspace_id, day, space_token)'
    END);
    RETURN NULL;
END
$body$;

CREATE TRIGGER space_days_scoped_added AFTER INSERT ON space_days
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_space_days_scoped();

CREATE TRIGGER space_days_scoped_changed AFTER UPDATE ON space_days
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_space_days_scoped();

-- A space's row counts its viewer while it is above zero: +1 for a row
-- that rises above, -1 for one that falls to zero.
CREATE FUNCTION reportstats_space_viewer_days_scoped() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_rows)) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext(l.workspace_id::text), hashtext(l.space_token))
    FROM (SELECT DISTINCT workspace_id, space_token FROM new_rows ORDER BY 1, 2) l;
    EXECUTE format($sql$
        INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
        SELECT c.workspace_id, c.day, c.viewer_id,
            sum(CASE WHEN s.space_type = 'private' THEN 0 ELSE c.sign END),
            sum(CASE WHEN s.space_type = 'private' THEN c.sign ELSE 0 END)
        FROM (%s) c
        LEFT JOIN spaces s ON s.workspace_id = c.workspace_id AND s.space_token = c.space_token
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, viewer_id) DO UPDATE SET
            listed_spaces = viewer_days.listed_spaces + EXCLUDED.listed_spaces,
            personal_spaces = viewer_days.personal_spaces + EXCLUDED.personal_spaces
    $sql$, CASE TG_OP WHEN 'INSERT' THEN
        'SELECT workspace_id, day, space_token, viewer_id, 1 AS sign FROM new_rows
         WHERE reports > 0'
    ELSE
        'SELECT n.workspace_id, n.day, n.space_token, n.viewer_id,
             CASE WHEN n.reports > 0 THEN 1 ELSE -1 END AS sign
         FROM new_rows n JOIN old_rows o USING (workspace_id, day, space_token, viewer_id)
         WHERE (n.reports > 0) <> (o.reports > 0)'
    END);
    RETURN NULL;
END
$body$;

CREATE TRIGGER space_viewer_days_scoped_added AFTER INSERT ON space_viewer_days
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_space_viewer_days_scoped();

CREATE TRIGGER space_viewer_days_scoped_changed AFTER UPDATE ON space_viewer_days
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_space_viewer_days_scoped();

-- A viewer's date counts once, at FALSE if any space it counts in is not
-- personal, at TRUE if all are, not at all if none is left.
CREATE FUNCTION reportstats_viewer_days_scoped() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_rows)) THEN
        RETURN NULL;
    END IF;
    EXECUTE format($sql$
        INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
            failed_runs, viewers)
        SELECT workspace_id, day, personal, 0, 0, 0, 0, sum(sign) FROM (%s) c
        GROUP BY 1, 2, 3 HAVING sum(sign) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
            viewers = scope_days.viewers + EXCLUDED.viewers
    $sql$, CASE TG_OP WHEN 'INSERT' THEN
        'SELECT workspace_id, day, listed_spaces <= 0 AS personal, 1 AS sign FROM new_rows
         WHERE listed_spaces > 0 OR personal_spaces > 0'
    ELSE
        'SELECT m.workspace_id, m.day, m.personal, m.sign FROM (
             SELECT n.workspace_id, n.day,
                 CASE WHEN o.listed_spaces > 0 THEN 0 WHEN o.personal_spaces > 0 THEN 1 END AS was,
                 CASE WHEN n.listed_spaces > 0 THEN 0 WHEN n.personal_spaces > 0 THEN 1 END AS now
             FROM new_rows n JOIN old_rows o USING (workspace_id, day, viewer_id)) c
         CROSS JOIN LATERAL (VALUES
             (c.workspace_id, c.day, c.was = 1, -1, c.was),
             (c.workspace_id, c.day, c.now = 1, 1, c.now))
             AS m (workspace_id, day, personal, sign, class)
         WHERE m.class IS NOT NULL AND c.was IS DISTINCT FROM c.now'
    END);
    RETURN NULL;
END
$body$;

CREATE TRIGGER viewer_days_scoped_added AFTER INSERT ON viewer_days
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_viewer_days_scoped();

CREATE TRIGGER viewer_days_scoped_changed AFTER UPDATE ON viewer_days
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_viewer_days_scoped();

-- Spaces that become personal (`sign` 1) or stop being (-1): their rows go
-- to the other side, under each space's exclusive lock (see above).
CREATE FUNCTION reportstats_spaces_scoped() RETURNS trigger
LANGUAGE plpgsql AS $body$
DECLARE
    moves TEXT := CASE TG_OP WHEN 'INSERT' THEN
        'SELECT workspace_id, space_token, 1 AS sign FROM new_rows
         WHERE space_type = ''private'''
    ELSE
        'SELECT n.workspace_id, n.space_token,
             CASE WHEN n.space_type = ''private'' THEN 1 ELSE -1 END AS sign
         FROM new_rows n JOIN old_rows o USING (workspace_id, space_token)
         WHERE coalesce(o.space_type = ''private'', FALSE)
             <> coalesce(n.space_type = ''private'', FALSE)'
    END;
    locked BIGINT;
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_rows)) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM (
        SELECT pg_advisory_xact_lock(hashtext(workspace_id::text), hashtext(space_token))
        FROM (SELECT DISTINCT workspace_id, space_token FROM (%s) m ORDER BY 1, 2) w) l', moves)
        INTO locked;
    IF locked = 0 THEN
        RETURN NULL;
    END IF;
    EXECUTE format($sql$
        INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
            failed_runs, viewers)
        SELECT d.workspace_id, d.day, p.personal, sum(p.factor * m.sign * d.views),
            sum(p.factor * m.sign * d.manual_runs), sum(p.factor * m.sign * d.scheduled_runs),
            sum(p.factor * m.sign * d.failed_runs), 0
        FROM (%s) m
        JOIN space_days d ON d.workspace_id = m.workspace_id AND d.space_token = m.space_token
        CROSS JOIN (VALUES (FALSE, -1), (TRUE, 1)) AS p (personal, factor)
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
            views = scope_days.views + EXCLUDED.views,
            manual_runs = scope_days.manual_runs + EXCLUDED.manual_runs,
            scheduled_runs = scope_days.scheduled_runs + EXCLUDED.scheduled_runs,
            failed_runs = scope_days.failed_runs + EXCLUDED.failed_runs
    $sql$, moves);
    EXECUTE format($sql$
        INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
        SELECT v.workspace_id, v.day, v.viewer_id, -sum(m.sign), sum(m.sign)
        FROM (%s) m
        JOIN space_viewer_days v ON v.workspace_id = m.workspace_id AND v.space_token = m.space_token
        WHERE v.reports > 0
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, viewer_id) DO UPDATE SET
            listed_spaces = viewer_days.listed_spaces + EXCLUDED.listed_spaces,
            personal_spaces = viewer_days.personal_spaces + EXCLUDED.personal_spaces
    $sql$, moves);
    RETURN NULL;
END
$body$;

CREATE TRIGGER spaces_scoped_added AFTER INSERT ON spaces
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_spaces_scoped();

CREATE TRIGGER spaces_scoped_changed AFTER UPDATE ON spaces
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_spaces_scoped();

-- Each viewer's latest date with a view counted in a scope (`listed_day`:
-- of a non-personal space; `any_day`: of any), -100000000 for none: the
-- distinct viewers of the last N days, later dates included (the
-- dashboard's headline), are then a count of a workspace's viewers, never
-- of its viewers' dates. Each statement on `viewer_days` looks for the
-- latest dates of the viewers it touched again, through the index by
-- viewer, having locked their rows first (made if missing), in key order:
-- a concurrent batch touching the same viewer waits for this one's commit,
-- then reads its dates.
CREATE TABLE viewer_latest (
    workspace_id BIGINT NOT NULL,
    viewer_id    BIGINT NOT NULL,
    listed_day   BIGINT NOT NULL,
    any_day      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, viewer_id)
);

CREATE INDEX viewer_days_by_viewer ON viewer_days (workspace_id, viewer_id, day)
    INCLUDE (listed_spaces, personal_spaces);

CREATE FUNCTION reportstats_viewer_latest() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows) OR EXISTS (SELECT 1 FROM workspaces w
        WHERE w.usage_sums_pending AND w.workspace_id IN (SELECT workspace_id FROM new_rows)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO viewer_latest (workspace_id, viewer_id, listed_day, any_day)
    SELECT DISTINCT workspace_id, viewer_id, -100000000, -100000000 FROM new_rows ORDER BY 1, 2
    ON CONFLICT (workspace_id, viewer_id) DO NOTHING;
    PERFORM 1 FROM viewer_latest l
    WHERE (l.workspace_id, l.viewer_id) IN (SELECT workspace_id, viewer_id FROM new_rows)
    ORDER BY l.workspace_id, l.viewer_id FOR UPDATE;
    UPDATE viewer_latest l SET
        listed_day = coalesce((SELECT max(v.day) FROM viewer_days v
            WHERE v.workspace_id = l.workspace_id AND v.viewer_id = l.viewer_id
              AND v.listed_spaces > 0), -100000000),
        any_day = coalesce((SELECT max(v.day) FROM viewer_days v
            WHERE v.workspace_id = l.workspace_id AND v.viewer_id = l.viewer_id
              AND (v.listed_spaces > 0 OR v.personal_spaces > 0)), -100000000)
    WHERE (l.workspace_id, l.viewer_id) IN (SELECT workspace_id, viewer_id FROM new_rows);
    RETURN NULL;
END
$body$;

CREATE TRIGGER viewer_days_latest_added AFTER INSERT ON viewer_days
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_viewer_latest();

CREATE TRIGGER viewer_days_latest_changed AFTER UPDATE ON viewer_days
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_viewer_latest();
