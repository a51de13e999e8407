-- Usage per date for each scope of a listing (SPEC section 8: personal
-- spaces left out, or all), summed over the spaces of 0012: what a
-- workspace's daily series, its views over days and its daily viewers read,
-- in rows per date rather than per space and date.
--
-- `viewer_days`: for each (date, viewer), in how many spaces the viewer
-- viewed a live report that date (`space_viewer_days` rows above zero),
-- personal ones apart. Distinct viewers over days, in either scope, are a
-- count of these rows.
--
-- `scope_days`: per date, the views and runs of the spaces that are
-- personal (`personal` 1) and of the others (0), and the viewers of the
-- date counted once: at 0 a viewer of any non-personal space, at 1 a viewer
-- of personal spaces alone. A listing's scope reads the row at 0, or both.
--
-- A space is personal while its type is 'private' (one with no type, or no
-- row yet, is not: the listings' rule). The triggers keep one law, in any
-- order of events: these tables equal the sums of `space_days` and
-- `space_viewer_days` by the spaces' types now. A space's row changes
-- little, the space rows below it much: so the space rows add themselves at
-- their space's type, and a space whose type crosses 'private' moves its
-- rows to the other side (through the indexes by space below).
--
-- A workspace marked `usage_sums_pending` is left to the rebuild
-- (src/storage/usage_sums.rs), as in 0012; this migration marks them all.
UPDATE workspaces SET usage_sums_pending = 1;

CREATE TABLE viewer_days (
    workspace_id    INTEGER NOT NULL,
    day             INTEGER NOT NULL,
    viewer_id       INTEGER NOT NULL,
    listed_spaces   INTEGER NOT NULL,
    personal_spaces INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, viewer_id)
) WITHOUT ROWID;

CREATE TABLE scope_days (
    workspace_id   INTEGER NOT NULL,
    day            INTEGER NOT NULL,
    personal       INTEGER NOT NULL,
    views          INTEGER NOT NULL,
    manual_runs    INTEGER NOT NULL,
    scheduled_runs INTEGER NOT NULL,
    failed_runs    INTEGER NOT NULL,
    viewers        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, personal)
) WITHOUT ROWID;

CREATE INDEX space_days_by_space ON space_days (workspace_id, space_token);
CREATE INDEX space_viewer_days_by_space ON space_viewer_days (workspace_id, space_token);

CREATE TRIGGER space_days_scoped_added AFTER INSERT ON space_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
        failed_runs, viewers)
    VALUES (NEW.workspace_id, NEW.day,
        (SELECT count(*) FROM spaces s WHERE s.workspace_id = NEW.workspace_id
            AND s.space_token = NEW.space_token AND s.space_type = 'private'),
        NEW.views, NEW.manual_runs, NEW.scheduled_runs, NEW.failed_runs, 0)
    ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
END;

CREATE TRIGGER space_days_scoped_changed AFTER UPDATE ON space_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
        failed_runs, viewers)
    VALUES (NEW.workspace_id, NEW.day,
        (SELECT count(*) FROM spaces s WHERE s.workspace_id = NEW.workspace_id
            AND s.space_token = NEW.space_token AND s.space_type = 'private'),
        NEW.views - OLD.views, NEW.manual_runs - OLD.manual_runs,
        NEW.scheduled_runs - OLD.scheduled_runs, NEW.failed_runs - OLD.failed_runs, 0)
    ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
END;

-- A space's row counts its viewer while it is above zero.
CREATE TRIGGER space_viewer_days_scoped_added AFTER INSERT ON space_viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND NEW.reports > 0
BEGIN
    INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
    SELECT NEW.workspace_id, NEW.day, NEW.viewer_id, 1 - p.personal, p.personal
    FROM (SELECT count(*) AS personal FROM spaces s WHERE s.workspace_id = NEW.workspace_id
        AND s.space_token = NEW.space_token AND s.space_type = 'private') p
    WHERE TRUE
    ON CONFLICT (workspace_id, day, viewer_id) DO UPDATE SET
        listed_spaces = listed_spaces + excluded.listed_spaces,
        personal_spaces = personal_spaces + excluded.personal_spaces;
END;

CREATE TRIGGER space_viewer_days_scoped_changed AFTER UPDATE OF reports ON space_viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND (OLD.reports > 0) <> (NEW.reports > 0)
BEGIN
    INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
    SELECT NEW.workspace_id, NEW.day, NEW.viewer_id, c.sign * (1 - p.personal), c.sign * p.personal
    FROM (SELECT count(*) AS personal FROM spaces s WHERE s.workspace_id = NEW.workspace_id
        AND s.space_token = NEW.space_token AND s.space_type = 'private') p,
        (SELECT CASE WHEN NEW.reports > 0 THEN 1 ELSE -1 END AS sign) c
    WHERE TRUE
    ON CONFLICT (workspace_id, day, viewer_id) DO UPDATE SET
        listed_spaces = listed_spaces + excluded.listed_spaces,
        personal_spaces = personal_spaces + excluded.personal_spaces;
END;

-- A viewer's date counts once, at 0 if any space it counts in is not
-- personal, at 1 if all are, not at all if none is left.
CREATE TRIGGER viewer_days_scoped_added AFTER INSERT ON viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND (NEW.listed_spaces > 0 OR NEW.personal_spaces > 0)
BEGIN
    INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
        failed_runs, viewers)
    VALUES (NEW.workspace_id, NEW.day, NEW.listed_spaces <= 0, 0, 0, 0, 0, 1)
    ON CONFLICT (workspace_id, day, personal) DO UPDATE SET viewers = viewers + 1;
END;

CREATE TRIGGER viewer_days_scoped_changed AFTER UPDATE ON viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND (CASE WHEN OLD.listed_spaces > 0 THEN 0 WHEN OLD.personal_spaces > 0 THEN 1 END)
      IS NOT (CASE WHEN NEW.listed_spaces > 0 THEN 0 WHEN NEW.personal_spaces > 0 THEN 1 END)
BEGIN
    INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
        failed_runs, viewers)
    SELECT OLD.workspace_id, OLD.day, OLD.listed_spaces <= 0, 0, 0, 0, 0, -1
    WHERE OLD.listed_spaces > 0 OR OLD.personal_spaces > 0
    ON CONFLICT (workspace_id, day, personal) DO UPDATE SET viewers = viewers - 1;
    INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
        failed_runs, viewers)
    SELECT NEW.workspace_id, NEW.day, NEW.listed_spaces <= 0, 0, 0, 0, 0, 1
    WHERE NEW.listed_spaces > 0 OR NEW.personal_spaces > 0
    ON CONFLICT (workspace_id, day, personal) DO UPDATE SET viewers = viewers + 1;
END;

-- A space that becomes personal, or stops being: its rows go to the other
-- side (`sign` -1 where they were, 1 where they are now).

CREATE TRIGGER spaces_scoped_added AFTER INSERT ON spaces
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND NEW.space_type = 'private'
BEGIN
    INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
        failed_runs, viewers)
    SELECT d.workspace_id, d.day, p.personal, p.sign * d.views, p.sign * d.manual_runs,
        p.sign * d.scheduled_runs, p.sign * d.failed_runs, 0
    FROM space_days d, (SELECT 0 AS personal, -1 AS sign UNION ALL SELECT 1, 1) p
    WHERE d.workspace_id = NEW.workspace_id AND d.space_token = NEW.space_token
    ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
    INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
    SELECT v.workspace_id, v.day, v.viewer_id, -1, 1 FROM space_viewer_days v
    WHERE v.workspace_id = NEW.workspace_id AND v.space_token = NEW.space_token AND v.reports > 0
    ON CONFLICT (workspace_id, day, viewer_id) DO UPDATE SET
        listed_spaces = listed_spaces + excluded.listed_spaces,
        personal_spaces = personal_spaces + excluded.personal_spaces;
END;

CREATE TRIGGER spaces_scoped_changed AFTER UPDATE OF space_type ON spaces
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND coalesce(OLD.space_type = 'private', 0) <> coalesce(NEW.space_type = 'private', 0)
BEGIN
    INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
        failed_runs, viewers)
    SELECT d.workspace_id, d.day, p.personal, p.sign * d.views, p.sign * d.manual_runs,
        p.sign * d.scheduled_runs, p.sign * d.failed_runs, 0
    FROM space_days d,
        (SELECT c.personal, CASE WHEN c.personal = t.now_personal THEN 1 ELSE -1 END AS sign
         FROM (SELECT 0 AS personal UNION ALL SELECT 1) c,
             (SELECT coalesce(NEW.space_type = 'private', 0) AS now_personal) t) p
    WHERE d.workspace_id = NEW.workspace_id AND d.space_token = NEW.space_token
    ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
    INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
    SELECT v.workspace_id, v.day, v.viewer_id, -t.sign, t.sign
    FROM space_viewer_days v,
        (SELECT CASE WHEN NEW.space_type = 'private' THEN 1 ELSE -1 END AS sign) t
    WHERE v.workspace_id = NEW.workspace_id AND v.space_token = NEW.space_token AND v.reports > 0
    ON CONFLICT (workspace_id, day, viewer_id) DO UPDATE SET
        listed_spaces = listed_spaces + excluded.listed_spaces,
        personal_spaces = personal_spaces + excluded.personal_spaces;
END;

-- Each viewer's latest date with a view counted in a scope (`listed_day`:
-- of a non-personal space; `any_day`: of any), -100000000 for none: the
-- distinct viewers of the last N days, later dates included (the
-- dashboard's headline), are then a count of a workspace's viewers, never
-- of its viewers' dates. A date that stops counting may have been the
-- latest, so it is looked for again, through the index by viewer.
CREATE TABLE viewer_latest (
    workspace_id INTEGER NOT NULL,
    viewer_id    INTEGER NOT NULL,
    listed_day   INTEGER NOT NULL,
    any_day      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, viewer_id)
) WITHOUT ROWID;

CREATE INDEX viewer_days_by_viewer
    ON viewer_days (workspace_id, viewer_id, day, listed_spaces, personal_spaces);

CREATE TRIGGER viewer_days_latest_added AFTER INSERT ON viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND (NEW.listed_spaces > 0 OR NEW.personal_spaces > 0)
BEGIN
    INSERT INTO viewer_latest (workspace_id, viewer_id, listed_day, any_day)
    VALUES (NEW.workspace_id, NEW.viewer_id,
        CASE WHEN NEW.listed_spaces > 0 THEN NEW.day ELSE -100000000 END, NEW.day)
    ON CONFLICT (workspace_id, viewer_id) DO UPDATE SET
        listed_day = max(listed_day, excluded.listed_day), any_day = max(any_day, excluded.any_day);
END;

CREATE TRIGGER viewer_days_latest_changed AFTER UPDATE ON viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND ((OLD.listed_spaces > 0) <> (NEW.listed_spaces > 0)
    OR (OLD.listed_spaces > 0 OR OLD.personal_spaces > 0)
       <> (NEW.listed_spaces > 0 OR NEW.personal_spaces > 0))
BEGIN
    INSERT INTO viewer_latest (workspace_id, viewer_id, listed_day, any_day)
    VALUES (NEW.workspace_id, NEW.viewer_id,
        coalesce((SELECT v.day FROM viewer_days v
            WHERE v.workspace_id = NEW.workspace_id AND v.viewer_id = NEW.viewer_id
              AND v.listed_spaces > 0
            ORDER BY v.day DESC LIMIT 1), -100000000),
        coalesce((SELECT v.day FROM viewer_days v
            WHERE v.workspace_id = NEW.workspace_id AND v.viewer_id = NEW.viewer_id
              AND (v.listed_spaces > 0 OR v.personal_spaces > 0)
            ORDER BY v.day DESC LIMIT 1), -100000000))
    ON CONFLICT (workspace_id, viewer_id) DO UPDATE SET
        listed_day = excluded.listed_day, any_day = excluded.any_day;
END;
