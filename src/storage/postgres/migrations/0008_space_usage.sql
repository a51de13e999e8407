-- Usage per space and date (SPEC section 8, for the scope of a listing):
-- the live reports' views and runs summed by the space each report is in
-- now ('' for none), and for each (date, space, viewer) how many of those
-- reports the viewer viewed that date. A workspace's views and distinct
-- viewers over days, in either scope, are then a read of its spaces' rows
-- joined with their types, never of every report's days.
--
-- The triggers below keep one law on every write, in any order of events:
-- these tables equal the sums of `report_days` and `report_viewer_days`
-- over the reports that are live now, by their space now. Day rows add
-- themselves at their report's space if the report is live; a report that
-- becomes live, is deleted or moves carries its whole history from the old
-- space to the new one. A space's type never moves anything: it is joined
-- when the rows are read, as the listings join it.
--
-- A workspace marked `usage_sums_pending` is left to a rebuild of its sums
-- in grouped statements (src/storage/usage_sums.rs): what an import or a
-- fill does, and what this migration leaves for every workspace there is,
-- since their sums start empty.
--
-- The triggers run once per statement, on its transition tables: a batch
-- writes a table in statements of many rows (src/storage/postgres/write.rs),
-- and each adds up its rows in one grouped upsert, in key order.
--
-- Concurrent batches stay exact: a batch writes a report's row before its
-- days (src/storage/schema.rs, `table_rows`), so a batch adding days and
-- one moving the report take the report's row lock in turn, and a move
-- reads the days committed before it.
ALTER TABLE workspaces ADD COLUMN usage_sums_pending BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE workspaces SET usage_sums_pending = TRUE;

CREATE TABLE space_days (
    workspace_id   BIGINT NOT NULL,
    day            BIGINT NOT NULL,
    space_token    TEXT NOT NULL,
    views          BIGINT NOT NULL,
    manual_runs    BIGINT NOT NULL,
    scheduled_runs BIGINT NOT NULL,
    failed_runs    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day, space_token)
);

-- `reports`: of the live reports in the space, how many the viewer viewed
-- that date. A row at zero is a viewer no longer counted.
CREATE TABLE space_viewer_days (
    workspace_id BIGINT NOT NULL,
    day          BIGINT NOT NULL,
    space_token  TEXT NOT NULL,
    viewer_id    BIGINT NOT NULL,
    reports      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day, space_token, viewer_id)
);

-- The live reports per space and date of their latest view (-100000000,
-- long before any event, for never), with their views of all time: what
-- counts the listed reports, and the stale ones for any window, in one row
-- per space and date. A report's date is its `last_viewed_at`'s UTC date,
-- by floor division as src/storage/report_usage.rs `day_of` takes it.
CREATE TABLE space_reports (
    workspace_id  BIGINT NOT NULL,
    space_token   TEXT NOT NULL,
    last_view_day BIGINT NOT NULL,
    reports       BIGINT NOT NULL,
    views         BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, space_token, last_view_day)
);

CREATE FUNCTION reportstats_last_view_day(last_viewed_at BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(CASE WHEN last_viewed_at >= 0 THEN last_viewed_at / 86400000000
        ELSE (last_viewed_at + 1) / 86400000000 - 1 END, -100000000)
$$;

-- The rows a statement on `report_days` added, as changes: the new rows,
-- or what each update added to its row.
CREATE FUNCTION reportstats_day_changes(operation TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE operation WHEN 'INSERT' THEN
        'SELECT workspace_id, report_id, day, views, manual_runs, scheduled_runs, failed_runs
         FROM new_days'
    ELSE
        'SELECT n.workspace_id, n.report_id, n.day, n.views - o.views AS views,
             n.manual_runs - o.manual_runs AS manual_runs,
             n.scheduled_runs - o.scheduled_runs AS scheduled_runs,
             n.failed_runs - o.failed_runs AS failed_runs
         FROM new_days n JOIN old_days o USING (workspace_id, report_id, day)'
    END
$$;

CREATE FUNCTION reportstats_report_days_summed() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_days)) THEN
        RETURN NULL;
    END IF;
    EXECUTE format($sql$
        INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs)
        SELECT d.workspace_id, d.day, coalesce(r.space_token, ''), sum(d.views),
            sum(d.manual_runs), sum(d.scheduled_runs), sum(d.failed_runs)
        FROM (%s) d JOIN reports r ON r.workspace_id = d.workspace_id AND r.report_id = d.report_id
        WHERE r.definition_at IS NOT NULL AND NOT r.deleted
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, space_token) DO UPDATE SET
            views = space_days.views + EXCLUDED.views,
            manual_runs = space_days.manual_runs + EXCLUDED.manual_runs,
            scheduled_runs = space_days.scheduled_runs + EXCLUDED.scheduled_runs,
            failed_runs = space_days.failed_runs + EXCLUDED.failed_runs
    $sql$, reportstats_day_changes(TG_OP));
    RETURN NULL;
END
$body$;

CREATE TRIGGER report_days_summed_added AFTER INSERT ON report_days
REFERENCING NEW TABLE AS new_days
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_report_days_summed();

CREATE TRIGGER report_days_summed_changed AFTER UPDATE ON report_days
REFERENCING OLD TABLE AS old_days NEW TABLE AS new_days
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_report_days_summed();

CREATE FUNCTION reportstats_report_viewer_days_summed() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_pairs)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
    SELECT v.workspace_id, v.day, coalesce(r.space_token, ''), v.viewer_id, count(*)
    FROM new_pairs v JOIN reports r ON r.workspace_id = v.workspace_id AND r.report_id = v.report_id
    WHERE r.definition_at IS NOT NULL AND NOT r.deleted
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (workspace_id, day, space_token, viewer_id) DO UPDATE SET
        reports = space_viewer_days.reports + EXCLUDED.reports;
    RETURN NULL;
END
$body$;

CREATE TRIGGER report_viewer_days_summed AFTER INSERT ON report_viewer_days
REFERENCING NEW TABLE AS new_pairs
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_report_viewer_days_summed();

-- What a statement on `reports` changed of each report's contribution:
-- (report, space, sign) rows, -1 where a live report was and +1 where one
-- is now, for the reports that became live, were deleted or moved (all
-- live ones, for an insert).
CREATE FUNCTION reportstats_report_moves(operation TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE operation WHEN 'INSERT' THEN
        'SELECT workspace_id, report_id, coalesce(space_token, '''') AS space_token, 1 AS sign
         FROM new_reports WHERE definition_at IS NOT NULL AND NOT deleted'
    ELSE
        'SELECT m.workspace_id, m.report_id, m.space_token, m.sign FROM (
             SELECT n.workspace_id, n.report_id,
                 o.definition_at IS NOT NULL AND NOT o.deleted AS was_live,
                 n.definition_at IS NOT NULL AND NOT n.deleted AS is_live,
                 coalesce(o.space_token, '''') AS old_space, coalesce(n.space_token, '''') AS new_space
             FROM new_reports n JOIN old_reports o USING (workspace_id, report_id)) c
         CROSS JOIN LATERAL (VALUES
             (c.workspace_id, c.report_id, c.old_space, -1, c.was_live),
             (c.workspace_id, c.report_id, c.new_space, 1, c.is_live))
             AS m (workspace_id, report_id, space_token, sign, counted)
         WHERE m.counted AND (c.was_live <> c.is_live OR c.old_space <> c.new_space)'
    END
$$;

-- The same for the counts of `space_reports`: every live report row's
-- contribution, -1 for the old rows of an update.
CREATE FUNCTION reportstats_report_counts(operation TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'SELECT workspace_id, coalesce(space_token, '''') AS space_token,
            reportstats_last_view_day(last_viewed_at) AS last_view_day,
            1 AS reports, view_count AS views
        FROM new_reports WHERE definition_at IS NOT NULL AND NOT deleted'
        || CASE WHEN operation = 'INSERT' THEN '' ELSE
        ' UNION ALL
        SELECT workspace_id, coalesce(space_token, ''''), reportstats_last_view_day(last_viewed_at),
            -1, -view_count
        FROM old_reports WHERE definition_at IS NOT NULL AND NOT deleted' END
$$;

CREATE FUNCTION reportstats_reports_summed() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
               AND w.workspace_id IN (SELECT workspace_id FROM new_reports)) THEN
        RETURN NULL;
    END IF;
    EXECUTE format($sql$
        INSERT INTO space_reports (workspace_id, space_token, last_view_day, reports, views)
        SELECT workspace_id, space_token, last_view_day, sum(reports), sum(views) FROM (%s) c
        GROUP BY 1, 2, 3 HAVING sum(reports) <> 0 OR sum(views) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, space_token, last_view_day) DO UPDATE SET
            reports = space_reports.reports + EXCLUDED.reports,
            views = space_reports.views + EXCLUDED.views
    $sql$, reportstats_report_counts(TG_OP));
    EXECUTE format($sql$
        INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs)
        SELECT d.workspace_id, d.day, m.space_token, sum(m.sign * d.views),
            sum(m.sign * d.manual_runs), sum(m.sign * d.scheduled_runs), sum(m.sign * d.failed_runs)
        FROM (%s) m JOIN report_days d ON d.workspace_id = m.workspace_id AND d.report_id = m.report_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, space_token) DO UPDATE SET
            views = space_days.views + EXCLUDED.views,
            manual_runs = space_days.manual_runs + EXCLUDED.manual_runs,
            scheduled_runs = space_days.scheduled_runs + EXCLUDED.scheduled_runs,
            failed_runs = space_days.failed_runs + EXCLUDED.failed_runs
    $sql$, reportstats_report_moves(TG_OP));
    EXECUTE format($sql$
        INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
        SELECT v.workspace_id, v.day, m.space_token, v.viewer_id, sum(m.sign)
        FROM (%s) m JOIN report_viewer_days v
            ON v.workspace_id = m.workspace_id AND v.report_id = m.report_id
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (workspace_id, day, space_token, viewer_id) DO UPDATE SET
            reports = space_viewer_days.reports + EXCLUDED.reports
    $sql$, reportstats_report_moves(TG_OP));
    RETURN NULL;
END
$body$;

CREATE TRIGGER reports_summed_added AFTER INSERT ON reports
REFERENCING NEW TABLE AS new_reports
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_reports_summed();

CREATE TRIGGER reports_summed_changed AFTER UPDATE ON reports
REFERENCING OLD TABLE AS old_reports NEW TABLE AS new_reports
FOR EACH STATEMENT EXECUTE FUNCTION reportstats_reports_summed();
