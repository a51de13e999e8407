-- Each report's counts over the last 7, 30 and 90 days (SPEC section 8),
-- kept as events arrive, so that `report_usage` sorts by them through an
-- index instead of computing every report's key (src/storage/usage_windows.rs).
--
-- `report_viewers`: each (report, viewer) pair's latest view date. A
-- viewer is in "the last N days" exactly when that date is (later dates
-- count as in them), so a report's viewers over any window are a count of
-- its pairs, and a new view moves a pair into a window or leaves it there.
CREATE TABLE report_viewers (
    workspace_id BIGINT NOT NULL,
    report_id    BIGINT NOT NULL,
    viewer_id    BIGINT NOT NULL,
    last_day     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, viewer_id)
);
-- No index by date here or on `report_days`: moving the windows (once a
-- day) reads the workspace's rows of both, which costs less than keeping
-- an index through every write (BENCHMARKS.md).

-- The windows end on the date `workspaces.windows_day`; the counts are
-- exact for that date only, and a page for another reads the day tables.
-- A far future date (no day of any event is in its windows) stands for
-- "not yet computed": every count is zero there, and moving the windows
-- back from it to a real date adds up their whole content.
ALTER TABLE workspaces ADD COLUMN windows_day BIGINT NOT NULL DEFAULT 100000000;

-- One row per report row, made with it (the rows of a workspace this
-- migration finds, and of one whose sums are rebuilt, by the rebuild). `total_viewers` holds for every
-- date; the other counts for `windows_day`.
CREATE TABLE report_windows (
    workspace_id    BIGINT NOT NULL,
    report_id       BIGINT NOT NULL,
    views_7d        BIGINT NOT NULL,
    views_30d       BIGINT NOT NULL,
    views_90d       BIGINT NOT NULL,
    viewers_7d      BIGINT NOT NULL,
    viewers_30d     BIGINT NOT NULL,
    viewers_90d     BIGINT NOT NULL,
    total_viewers   BIGINT NOT NULL,
    runs_30d        BIGINT NOT NULL,
    failed_runs_30d BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, report_id)
);
-- What the trending questions sort by, most first (a page sorted the other
-- way reads the index backwards).
CREATE INDEX report_windows_by_views_7d ON report_windows (workspace_id, views_7d DESC, report_id);
CREATE INDEX report_windows_by_views_30d ON report_windows (workspace_id, views_30d DESC, report_id);
CREATE INDEX report_windows_by_views_90d ON report_windows (workspace_id, views_90d DESC, report_id);
CREATE INDEX report_windows_by_viewers_7d ON report_windows (workspace_id, viewers_7d DESC, report_id);
CREATE INDEX report_windows_by_viewers_30d ON report_windows (workspace_id, viewers_30d DESC, report_id);
CREATE INDEX report_windows_by_viewers_90d ON report_windows (workspace_id, viewers_90d DESC, report_id);

-- Live reports by their views of all time, most first, with their latest
-- view: the walk of a page sorted by `total_views_count`, such as the stale
-- reports used most.
CREATE INDEX reports_live_by_views ON reports (workspace_id, view_count DESC, report_id)
    INCLUDE (last_viewed_at) WHERE definition_at IS NOT NULL AND NOT deleted;

CREATE FUNCTION reportstats_reports_windowed() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_reports)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO report_windows
    SELECT workspace_id, report_id, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM new_reports
    ORDER BY workspace_id, report_id
    ON CONFLICT (workspace_id, report_id) DO NOTHING;
    RETURN NULL;
END
$body$;

CREATE TRIGGER reports_windowed AFTER INSERT ON reports
REFERENCING NEW TABLE AS new_reports
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_reports_windowed();

-- A date's new views and runs count in each window it is in (the changes
-- of the statement, as reportstats_day_changes reads them). A report's row
-- is written before its days (src/storage/schema.rs, `table_rows`), so its
-- windows row is there. The windows' date moves only under the workspace's
-- exclusive lock, which batches hold shared.
CREATE FUNCTION reportstats_report_days_windowed() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_days)) THEN
        RETURN NULL;
    END IF;
    EXECUTE format($sql$
        UPDATE report_windows SET
            views_7d = views_7d + c.added_views_7d, views_30d = views_30d + c.added_views_30d,
            views_90d = views_90d + c.added_views_90d, runs_30d = runs_30d + c.added_runs_30d,
            failed_runs_30d = failed_runs_30d + c.added_failed_runs_30d
        FROM (SELECT d.workspace_id, d.report_id,
                sum(CASE WHEN d.day > w.windows_day - 7 THEN d.views ELSE 0 END) AS added_views_7d,
                sum(CASE WHEN d.day > w.windows_day - 30 THEN d.views ELSE 0 END) AS added_views_30d,
                sum(d.views) AS added_views_90d,
                sum(CASE WHEN d.day > w.windows_day - 30
                    THEN d.manual_runs + d.scheduled_runs ELSE 0 END) AS added_runs_30d,
                sum(CASE WHEN d.day > w.windows_day - 30 THEN d.failed_runs ELSE 0 END)
                    AS added_failed_runs_30d
            FROM (%s) d JOIN workspaces w ON w.workspace_id = d.workspace_id
            WHERE d.day > w.windows_day - 90
            GROUP BY 1, 2) c
        WHERE report_windows.workspace_id = c.workspace_id
          AND report_windows.report_id = c.report_id
    $sql$, reportstats_day_changes(TG_OP));
    RETURN NULL;
END
$body$;

CREATE TRIGGER report_days_windowed_added AFTER INSERT ON report_days
REFERENCING NEW TABLE AS new_days
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_report_days_windowed();

CREATE TRIGGER report_days_windowed_changed AFTER UPDATE ON report_days
REFERENCING OLD TABLE AS old_days NEW TABLE AS new_days
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_report_days_windowed();

-- New (report, date, viewer) rows count each viewer in each window their
-- latest new date is in and the pair's latest view was not; then the
-- pairs' latest move. The reports' windows rows are locked first, so that
-- a concurrent batch's pairs of the same reports are read only once they
-- are committed.
CREATE FUNCTION reportstats_report_viewer_days_windowed() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_pairs)) THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM report_windows x
    WHERE (x.workspace_id, x.report_id) IN (SELECT workspace_id, report_id FROM new_pairs)
    ORDER BY x.workspace_id, x.report_id FOR UPDATE;
    UPDATE report_windows SET
        total_viewers = total_viewers + c.added_total_viewers,
        viewers_7d = viewers_7d + c.added_viewers_7d, viewers_30d = viewers_30d + c.added_viewers_30d,
        viewers_90d = viewers_90d + c.added_viewers_90d
    FROM (SELECT g.workspace_id, g.report_id,
            sum(CASE WHEN p.last_day IS NULL THEN 1 ELSE 0 END) AS added_total_viewers,
            sum(CASE WHEN g.latest > w.windows_day - 7
                AND (p.last_day IS NULL OR p.last_day <= w.windows_day - 7) THEN 1 ELSE 0 END)
                AS added_viewers_7d,
            sum(CASE WHEN g.latest > w.windows_day - 30
                AND (p.last_day IS NULL OR p.last_day <= w.windows_day - 30) THEN 1 ELSE 0 END)
                AS added_viewers_30d,
            sum(CASE WHEN g.latest > w.windows_day - 90
                AND (p.last_day IS NULL OR p.last_day <= w.windows_day - 90) THEN 1 ELSE 0 END)
                AS added_viewers_90d
        FROM (SELECT workspace_id, report_id, viewer_id, max(day) AS latest
              FROM new_pairs GROUP BY 1, 2, 3) g
        JOIN workspaces w ON w.workspace_id = g.workspace_id
        LEFT JOIN report_viewers p ON p.workspace_id = g.workspace_id
            AND p.report_id = g.report_id AND p.viewer_id = g.viewer_id
        GROUP BY 1, 2) c
    WHERE report_windows.workspace_id = c.workspace_id AND report_windows.report_id = c.report_id;
    INSERT INTO report_viewers (workspace_id, report_id, viewer_id, last_day)
    SELECT workspace_id, report_id, viewer_id, max(day) FROM new_pairs
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (workspace_id, report_id, viewer_id) DO UPDATE SET
        last_day = greatest(report_viewers.last_day, EXCLUDED.last_day);
    RETURN NULL;
END
$body$;

CREATE TRIGGER report_viewer_days_windowed AFTER INSERT ON report_viewer_days
REFERENCING NEW TABLE AS new_pairs
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_report_viewer_days_windowed();
