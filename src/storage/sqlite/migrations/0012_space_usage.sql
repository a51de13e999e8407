-- Usage per space and date (SPEC section 8, for the scope of a listing):
-- the live reports' views and runs summed by the space each report is in
-- now ('' for none), and for each (date, space, viewer) how many of those
-- reports the viewer viewed that date. A workspace's views and distinct
-- viewers over days, in either scope, are then a read of its spaces' rows
-- joined with their types, never of every report's days.
--
-- The triggers below keep one law on every write, in any order of events:
-- these tables equal the sums of `report_days` and `report_viewer_days`
-- over the reports that are live now, by their space now. A day row adds
-- itself at its report's space if the report is live; a report that becomes
-- live, is deleted or moves carries its whole history from the old space
-- to the new one. A space's type never moves anything: it is joined when
-- the rows are read, as the listings join it.
--
-- A workspace marked `usage_sums_pending` is left to a rebuild of its sums
-- in grouped statements (src/storage/usage_sums.rs): what an import or a
-- fill does, and what this migration leaves for every workspace there is,
-- since their sums start empty.
ALTER TABLE workspaces ADD COLUMN usage_sums_pending INTEGER NOT NULL DEFAULT 0;
UPDATE workspaces SET usage_sums_pending = 1;

CREATE TABLE space_days (
    workspace_id   INTEGER NOT NULL,
    day            INTEGER NOT NULL,
    space_token    TEXT NOT NULL,
    views          INTEGER NOT NULL,
    manual_runs    INTEGER NOT NULL,
    scheduled_runs INTEGER NOT NULL,
    failed_runs    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, space_token)
) WITHOUT ROWID;

-- `reports`: of the live reports in the space, how many the viewer viewed
-- that date. A row at zero is a viewer no longer counted.
CREATE TABLE space_viewer_days (
    workspace_id INTEGER NOT NULL,
    day          INTEGER NOT NULL,
    space_token  TEXT NOT NULL,
    viewer_id    INTEGER NOT NULL,
    reports      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, space_token, viewer_id)
) WITHOUT ROWID;

CREATE TRIGGER report_days_added AFTER INSERT ON report_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs)
    SELECT NEW.workspace_id, NEW.day, coalesce(r.space_token, ''),
           NEW.views, NEW.manual_runs, NEW.scheduled_runs, NEW.failed_runs
    FROM reports r
    WHERE r.workspace_id = NEW.workspace_id AND r.report_id = NEW.report_id
      AND r.definition_at IS NOT NULL AND NOT r.deleted
    ON CONFLICT (workspace_id, day, space_token) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
END;

CREATE TRIGGER report_days_changed AFTER UPDATE ON report_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs)
    SELECT NEW.workspace_id, NEW.day, coalesce(r.space_token, ''),
           NEW.views - OLD.views, NEW.manual_runs - OLD.manual_runs,
           NEW.scheduled_runs - OLD.scheduled_runs, NEW.failed_runs - OLD.failed_runs
    FROM reports r
    WHERE r.workspace_id = NEW.workspace_id AND r.report_id = NEW.report_id
      AND r.definition_at IS NOT NULL AND NOT r.deleted
    ON CONFLICT (workspace_id, day, space_token) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
END;

CREATE TRIGGER report_viewer_days_added AFTER INSERT ON report_viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
    SELECT NEW.workspace_id, NEW.day, coalesce(r.space_token, ''), NEW.viewer_id, 1
    FROM reports r
    WHERE r.workspace_id = NEW.workspace_id AND r.report_id = NEW.report_id
      AND r.definition_at IS NOT NULL AND NOT r.deleted
    ON CONFLICT (workspace_id, day, space_token, viewer_id) DO UPDATE SET
        reports = reports + 1;
END;

-- A report's history, into its space if it is live: what a new report row
-- brings (its days may have come first) and what a move carries.
CREATE TRIGGER reports_added AFTER INSERT ON reports
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND (NEW.definition_at IS NOT NULL AND NOT NEW.deleted)
BEGIN
    INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs)
    SELECT d.workspace_id, d.day, coalesce(NEW.space_token, ''),
           d.views, d.manual_runs, d.scheduled_runs, d.failed_runs
    FROM report_days d WHERE d.workspace_id = NEW.workspace_id AND d.report_id = NEW.report_id
    ON CONFLICT (workspace_id, day, space_token) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
    INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
    SELECT v.workspace_id, v.day, coalesce(NEW.space_token, ''), v.viewer_id, 1
    FROM report_viewer_days v WHERE v.workspace_id = NEW.workspace_id AND v.report_id = NEW.report_id
    ON CONFLICT (workspace_id, day, space_token, viewer_id) DO UPDATE SET
        reports = reports + 1;
END;

CREATE TRIGGER reports_moved AFTER UPDATE OF definition_at, deleted, space_token ON reports
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND ((OLD.definition_at IS NOT NULL AND NOT OLD.deleted)
         IS NOT (NEW.definition_at IS NOT NULL AND NOT NEW.deleted)
  OR ((NEW.definition_at IS NOT NULL AND NOT NEW.deleted)
      AND coalesce(OLD.space_token, '') <> coalesce(NEW.space_token, '')))
BEGIN
    INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs)
    SELECT d.workspace_id, d.day, coalesce(OLD.space_token, ''),
           -d.views, -d.manual_runs, -d.scheduled_runs, -d.failed_runs
    FROM report_days d WHERE d.workspace_id = OLD.workspace_id AND d.report_id = OLD.report_id
      AND OLD.definition_at IS NOT NULL AND NOT OLD.deleted
    ON CONFLICT (workspace_id, day, space_token) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
    INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
    SELECT v.workspace_id, v.day, coalesce(OLD.space_token, ''), v.viewer_id, -1
    FROM report_viewer_days v WHERE v.workspace_id = OLD.workspace_id AND v.report_id = OLD.report_id
      AND OLD.definition_at IS NOT NULL AND NOT OLD.deleted
    ON CONFLICT (workspace_id, day, space_token, viewer_id) DO UPDATE SET
        reports = reports - 1;
    INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs)
    SELECT d.workspace_id, d.day, coalesce(NEW.space_token, ''),
           d.views, d.manual_runs, d.scheduled_runs, d.failed_runs
    FROM report_days d WHERE d.workspace_id = NEW.workspace_id AND d.report_id = NEW.report_id
      AND NEW.definition_at IS NOT NULL AND NOT NEW.deleted
    ON CONFLICT (workspace_id, day, space_token) DO UPDATE SET
        views = views + excluded.views, manual_runs = manual_runs + excluded.manual_runs,
        scheduled_runs = scheduled_runs + excluded.scheduled_runs,
        failed_runs = failed_runs + excluded.failed_runs;
    INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
    SELECT v.workspace_id, v.day, coalesce(NEW.space_token, ''), v.viewer_id, 1
    FROM report_viewer_days v WHERE v.workspace_id = NEW.workspace_id AND v.report_id = NEW.report_id
      AND NEW.definition_at IS NOT NULL AND NOT NEW.deleted
    ON CONFLICT (workspace_id, day, space_token, viewer_id) DO UPDATE SET
        reports = reports + 1;
END;

-- The live reports per space and date of their latest view (-100000000,
-- long before any event, for never), with their views of all time: what
-- counts the listed reports, and the stale ones for any window, in one row
-- per space and date. A report's date is its `last_viewed_at`'s UTC date,
-- by floor division as src/storage/report_usage.rs `day_of` takes it.
CREATE TABLE space_reports (
    workspace_id  INTEGER NOT NULL,
    space_token   TEXT NOT NULL,
    last_view_day INTEGER NOT NULL,
    reports       INTEGER NOT NULL,
    views         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, space_token, last_view_day)
) WITHOUT ROWID;

CREATE TRIGGER reports_counted AFTER INSERT ON reports
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND (NEW.definition_at IS NOT NULL AND NOT NEW.deleted)
BEGIN
    INSERT INTO space_reports (workspace_id, space_token, last_view_day, reports, views)
    VALUES (NEW.workspace_id, coalesce(NEW.space_token, ''),
        coalesce(CASE WHEN NEW.last_viewed_at >= 0 THEN NEW.last_viewed_at / 86400000000
            ELSE (NEW.last_viewed_at + 1) / 86400000000 - 1 END, -100000000),
        1, NEW.view_count)
    ON CONFLICT (workspace_id, space_token, last_view_day) DO UPDATE SET
        reports = reports + 1, views = views + excluded.views;
END;

CREATE TRIGGER reports_recounted
AFTER UPDATE OF definition_at, deleted, space_token, last_viewed_at, view_count ON reports
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
  AND ((OLD.definition_at IS NOT NULL AND NOT OLD.deleted)
         IS NOT (NEW.definition_at IS NOT NULL AND NOT NEW.deleted)
  OR ((NEW.definition_at IS NOT NULL AND NOT NEW.deleted)
      AND (coalesce(OLD.space_token, '') <> coalesce(NEW.space_token, '')
           OR OLD.last_viewed_at IS NOT NEW.last_viewed_at
           OR OLD.view_count <> NEW.view_count)))
BEGIN
    INSERT INTO space_reports (workspace_id, space_token, last_view_day, reports, views)
    SELECT OLD.workspace_id, coalesce(OLD.space_token, ''),
        coalesce(CASE WHEN OLD.last_viewed_at >= 0 THEN OLD.last_viewed_at / 86400000000
            ELSE (OLD.last_viewed_at + 1) / 86400000000 - 1 END, -100000000),
        -1, -OLD.view_count
    WHERE OLD.definition_at IS NOT NULL AND NOT OLD.deleted
    ON CONFLICT (workspace_id, space_token, last_view_day) DO UPDATE SET
        reports = reports + excluded.reports, views = views + excluded.views;
    INSERT INTO space_reports (workspace_id, space_token, last_view_day, reports, views)
    SELECT NEW.workspace_id, coalesce(NEW.space_token, ''),
        coalesce(CASE WHEN NEW.last_viewed_at >= 0 THEN NEW.last_viewed_at / 86400000000
            ELSE (NEW.last_viewed_at + 1) / 86400000000 - 1 END, -100000000),
        1, NEW.view_count
    WHERE NEW.definition_at IS NOT NULL AND NOT NEW.deleted
    ON CONFLICT (workspace_id, space_token, last_view_day) DO UPDATE SET
        reports = reports + excluded.reports, views = views + excluded.views;
END;
