-- Each report's counts over the last 7, 30 and 90 days (SPEC section 8),
-- kept as events arrive, so that `report_usage` sorts by them through an
-- index instead of computing every report's key (src/storage/usage_windows.rs).
--
-- `report_viewers`: each (report, viewer) pair's latest view date. A
-- viewer is in "the last N days" exactly when that date is (later dates
-- count as in them), so a report's viewers over any window are a count of
-- its pairs, and a new view moves a pair into a window or leaves it there.
CREATE TABLE report_viewers (
    workspace_id INTEGER NOT NULL,
    report_id    INTEGER NOT NULL,
    viewer_id    INTEGER NOT NULL,
    last_day     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, report_id, viewer_id)
) WITHOUT ROWID;
-- No index by date here or on `report_days`: moving the windows (once a
-- day) reads the workspace's rows of both, which costs less than keeping
-- an index through every write (BENCHMARKS.md).

-- The windows end on the date `workspaces.windows_day`; the counts are
-- exact for that date only, and a page for another reads the day tables.
-- A far future date (no day of any event is in its windows) stands for
-- "not yet computed": every count is zero there, and moving the windows
-- back from it to a real date adds up their whole content.
ALTER TABLE workspaces ADD COLUMN windows_day INTEGER NOT NULL DEFAULT 100000000;

-- One row per report row, made with it (the rows of a workspace this
-- migration finds, and of one whose sums are rebuilt, by the rebuild). `total_viewers` holds for every
-- date; the other counts for `windows_day`.
CREATE TABLE report_windows (
    workspace_id    INTEGER NOT NULL,
    report_id       INTEGER NOT NULL,
    views_7d        INTEGER NOT NULL,
    views_30d       INTEGER NOT NULL,
    views_90d       INTEGER NOT NULL,
    viewers_7d      INTEGER NOT NULL,
    viewers_30d     INTEGER NOT NULL,
    viewers_90d     INTEGER NOT NULL,
    total_viewers   INTEGER NOT NULL,
    runs_30d        INTEGER NOT NULL,
    failed_runs_30d INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, report_id)
) WITHOUT ROWID;
-- What the trending questions sort by, most first (a page sorted the other
-- way reads the index backwards).
CREATE INDEX report_windows_by_views_7d ON report_windows (workspace_id, views_7d DESC, report_id);
CREATE INDEX report_windows_by_views_30d ON report_windows (workspace_id, views_30d DESC, report_id);
CREATE INDEX report_windows_by_views_90d ON report_windows (workspace_id, views_90d DESC, report_id);
CREATE INDEX report_windows_by_viewers_7d ON report_windows (workspace_id, viewers_7d DESC, report_id);
CREATE INDEX report_windows_by_viewers_30d ON report_windows (workspace_id, viewers_30d DESC, report_id);
CREATE INDEX report_windows_by_viewers_90d ON report_windows (workspace_id, viewers_90d DESC, report_id);

-- Live reports by their views of all time, most first, with what the
-- listing and the stale filter ask of each: the walk of a page sorted by
-- `total_views_count`, such as the stale reports that were used most.
CREATE INDEX reports_live_by_views ON reports
    (workspace_id, view_count DESC, report_id, last_viewed_at, space_token, definition_at, deleted)
    WHERE definition_at IS NOT NULL AND NOT deleted;

CREATE TRIGGER reports_windowed AFTER INSERT ON reports
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    INSERT INTO report_windows VALUES (NEW.workspace_id, NEW.report_id, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ON CONFLICT (workspace_id, report_id) DO NOTHING;
END;

-- A date's new views and runs count in each window it is in. A report's row
-- is written before its days (src/storage/schema.rs, `table_rows`), so its
-- windows row is there.
CREATE TRIGGER report_days_windowed_added AFTER INSERT ON report_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    UPDATE report_windows SET
        views_7d = views_7d + (CASE WHEN NEW.day > w.windows_day - 7 THEN NEW.views ELSE 0 END),
        views_30d = views_30d + (CASE WHEN NEW.day > w.windows_day - 30 THEN NEW.views ELSE 0 END),
        views_90d = views_90d + NEW.views,
        runs_30d = runs_30d + (CASE WHEN NEW.day > w.windows_day - 30
            THEN NEW.manual_runs + NEW.scheduled_runs ELSE 0 END),
        failed_runs_30d = failed_runs_30d + (CASE WHEN NEW.day > w.windows_day - 30
            THEN NEW.failed_runs ELSE 0 END)
    FROM workspaces w
    WHERE w.workspace_id = NEW.workspace_id AND NEW.day > w.windows_day - 90
      AND report_windows.workspace_id = NEW.workspace_id
      AND report_windows.report_id = NEW.report_id;
END;

CREATE TRIGGER report_days_windowed_changed AFTER UPDATE ON report_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    UPDATE report_windows SET
        views_7d = views_7d + (CASE WHEN NEW.day > w.windows_day - 7
            THEN NEW.views - OLD.views ELSE 0 END),
        views_30d = views_30d + (CASE WHEN NEW.day > w.windows_day - 30
            THEN NEW.views - OLD.views ELSE 0 END),
        views_90d = views_90d + NEW.views - OLD.views,
        runs_30d = runs_30d + (CASE WHEN NEW.day > w.windows_day - 30
            THEN NEW.manual_runs + NEW.scheduled_runs - OLD.manual_runs - OLD.scheduled_runs
            ELSE 0 END),
        failed_runs_30d = failed_runs_30d + (CASE WHEN NEW.day > w.windows_day - 30
            THEN NEW.failed_runs - OLD.failed_runs ELSE 0 END)
    FROM workspaces w
    WHERE w.workspace_id = NEW.workspace_id AND NEW.day > w.windows_day - 90
      AND report_windows.workspace_id = NEW.workspace_id
      AND report_windows.report_id = NEW.report_id;
END;

-- A new (report, date, viewer) counts the viewer in each window the date is
-- in and the pair's latest view was not; then the pair's latest moves.
CREATE TRIGGER report_viewer_days_windowed AFTER INSERT ON report_viewer_days
WHEN (SELECT NOT usage_sums_pending FROM workspaces WHERE workspace_id = NEW.workspace_id)
BEGIN
    UPDATE report_windows SET
        total_viewers = total_viewers + (p.last_day IS NULL),
        viewers_7d = viewers_7d + (NEW.day > w.windows_day - 7
            AND coalesce(p.last_day <= w.windows_day - 7, 1)),
        viewers_30d = viewers_30d + (NEW.day > w.windows_day - 30
            AND coalesce(p.last_day <= w.windows_day - 30, 1)),
        viewers_90d = viewers_90d + (NEW.day > w.windows_day - 90
            AND coalesce(p.last_day <= w.windows_day - 90, 1))
    FROM workspaces w
    LEFT JOIN report_viewers p ON p.workspace_id = NEW.workspace_id
        AND p.report_id = NEW.report_id AND p.viewer_id = NEW.viewer_id
    WHERE w.workspace_id = NEW.workspace_id
      AND report_windows.workspace_id = NEW.workspace_id
      AND report_windows.report_id = NEW.report_id;
    INSERT INTO report_viewers (workspace_id, report_id, viewer_id, last_day)
    VALUES (NEW.workspace_id, NEW.report_id, NEW.viewer_id, NEW.day)
    ON CONFLICT (workspace_id, report_id, viewer_id) DO UPDATE SET
        last_day = max(last_day, excluded.last_day);
END;
