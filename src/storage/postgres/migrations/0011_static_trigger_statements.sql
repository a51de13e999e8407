-- The usage triggers of 0008-0010 built their statements as text at each
-- call (`EXECUTE format(...)`, the statement's changes spliced in by
-- operation), so PostgreSQL planned every one of them again on every
-- statement of every batch: about a millisecond each, some twenty per
-- batch, and a one-event batch took 15-40 ms to write (BENCHMARKS.md,
-- "live ingestion"). Here each such function is made again with the same
-- statements written out for each operation, `IF TG_OP = 'INSERT'` and
-- `ELSE`, as static SQL, whose plans PL/pgSQL keeps per connection.
--
-- Each template below is its migration's statement as it was (a shipped
-- migration cannot be changed, so from here on these are the statements in
-- force); the changes are spliced in from the helper functions of 0008
-- (reportstats_day_changes and the others) and, for 0010's, which wrote
-- them inline, from helpers made here, once per operation, when this
-- migration runs. The triggers stay as they are; only the functions they
-- call change.

-- `IF TG_OP = 'INSERT' THEN <template with the insert's changes> ELSE
-- <template with the update's changes> END IF;`
CREATE OR REPLACE FUNCTION reportstats_by_operation(template TEXT, on_insert TEXT, on_update TEXT)
RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT format(E'IF TG_OP = \'INSERT\' THEN\n%s;\nELSE\n%s;\nEND IF;',
        replace(template, '%s', on_insert), replace(template, '%s', on_update))
$$;

-- A trigger function: the usual check that the workspace's sums are not
-- left to the rebuild, then `body`.
CREATE OR REPLACE FUNCTION reportstats_define_trigger(name TEXT, new_table TEXT, body TEXT)
RETURNS VOID LANGUAGE plpgsql AS $define$
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            IF EXISTS (SELECT 1 FROM workspaces w WHERE w.usage_sums_pending
                       AND w.workspace_id IN (SELECT workspace_id FROM %I)) THEN
                RETURN NULL;
            END IF;
            %s
            RETURN NULL;
        END
        $body$
    $f$, name, new_table, body);
END
$define$;

SELECT reportstats_define_trigger('reportstats_report_days_summed', 'new_days',
    reportstats_by_operation($sql$
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
    $sql$, reportstats_day_changes('INSERT'), reportstats_day_changes('UPDATE')));

SELECT reportstats_define_trigger('reportstats_reports_summed', 'new_reports',
    reportstats_by_operation($sql$
        INSERT INTO space_reports (workspace_id, space_token, last_view_day, reports, views)
        SELECT workspace_id, space_token, last_view_day, sum(reports), sum(views) FROM (%s) c
        GROUP BY 1, 2, 3 HAVING sum(reports) <> 0 OR sum(views) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, space_token, last_view_day) DO UPDATE SET
            reports = space_reports.reports + EXCLUDED.reports,
            views = space_reports.views + EXCLUDED.views
    $sql$, reportstats_report_counts('INSERT'), reportstats_report_counts('UPDATE'))
    || reportstats_by_operation($sql$
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
    $sql$, reportstats_report_moves('INSERT'), reportstats_report_moves('UPDATE'))
    || reportstats_by_operation($sql$
        INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
        SELECT v.workspace_id, v.day, m.space_token, v.viewer_id, sum(m.sign)
        FROM (%s) m JOIN report_viewer_days v
            ON v.workspace_id = m.workspace_id AND v.report_id = m.report_id
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (workspace_id, day, space_token, viewer_id) DO UPDATE SET
            reports = space_viewer_days.reports + EXCLUDED.reports
    $sql$, reportstats_report_moves('INSERT'), reportstats_report_moves('UPDATE')));

SELECT reportstats_define_trigger('reportstats_report_days_windowed', 'new_days',
    reportstats_by_operation($sql$
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
    $sql$, reportstats_day_changes('INSERT'), reportstats_day_changes('UPDATE')));

-- 0010's changes, named as its functions spliced them in.
CREATE OR REPLACE FUNCTION reportstats_space_day_changes(operation TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE operation WHEN 'INSERT' THEN
        'SELECT workspace_id, day, space_token, views, manual_runs, scheduled_runs, failed_runs
         FROM new_rows'
    ELSE
        'SELECT n.workspace_id, n.day, n.space_token, n.views - o.views AS views,
             n.manual_runs - o.manual_runs AS manual_runs,
             n.scheduled_runs - o.scheduled_runs AS scheduled_runs,
             n.failed_runs - o.failed_runs AS failed_runs
         FROM new_rows n JOIN old_rows o USING (workspace_id, day, space_token)'
    END
$$;

CREATE OR REPLACE FUNCTION reportstats_space_viewer_changes(operation TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE operation WHEN 'INSERT' THEN
        'SELECT workspace_id, day, space_token, viewer_id, 1 AS sign FROM new_rows
         WHERE reports > 0'
    ELSE
        'SELECT n.workspace_id, n.day, n.space_token, n.viewer_id,
             CASE WHEN n.reports > 0 THEN 1 ELSE -1 END AS sign
         FROM new_rows n JOIN old_rows o USING (workspace_id, day, space_token, viewer_id)
         WHERE (n.reports > 0) <> (o.reports > 0)'
    END
$$;

CREATE OR REPLACE FUNCTION reportstats_viewer_day_changes(operation TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE operation WHEN 'INSERT' THEN
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
    END
$$;

CREATE OR REPLACE FUNCTION reportstats_space_moves(operation TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE operation WHEN 'INSERT' THEN
        'SELECT workspace_id, space_token, 1 AS sign FROM new_rows
         WHERE space_type = ''private'''
    ELSE
        'SELECT n.workspace_id, n.space_token,
             CASE WHEN n.space_type = ''private'' THEN 1 ELSE -1 END AS sign
         FROM new_rows n JOIN old_rows o USING (workspace_id, space_token)
         WHERE coalesce(o.space_type = ''private'', FALSE)
             <> coalesce(n.space_type = ''private'', FALSE)'
    END
$$;

-- The shared lock on each space a statement adds rows of (see 0010).
CREATE OR REPLACE FUNCTION reportstats_space_locks() RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'PERFORM pg_advisory_xact_lock_shared(hashtext(l.workspace_id::text), hashtext(l.space_token))
    FROM (SELECT DISTINCT workspace_id, space_token FROM new_rows ORDER BY 1, 2) l;'
$$;

SELECT reportstats_define_trigger('reportstats_space_days_scoped', 'new_rows',
    reportstats_space_locks() || reportstats_by_operation($sql$
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
    $sql$, reportstats_space_day_changes('INSERT'), reportstats_space_day_changes('UPDATE')));

SELECT reportstats_define_trigger('reportstats_space_viewer_days_scoped', 'new_rows',
    reportstats_space_locks() || reportstats_by_operation($sql$
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
    $sql$, reportstats_space_viewer_changes('INSERT'), reportstats_space_viewer_changes('UPDATE')));

SELECT reportstats_define_trigger('reportstats_viewer_days_scoped', 'new_rows',
    reportstats_by_operation($sql$
        INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
            failed_runs, viewers)
        SELECT workspace_id, day, personal, 0, 0, 0, 0, sum(sign) FROM (%s) c
        GROUP BY 1, 2, 3 HAVING sum(sign) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, personal) DO UPDATE SET
            viewers = scope_days.viewers + EXCLUDED.viewers
    $sql$, reportstats_viewer_day_changes('INSERT'), reportstats_viewer_day_changes('UPDATE')));

-- Moves lock each moving space exclusively first, and stop there if none
-- moves (most statements on `spaces` move none).
SELECT reportstats_define_trigger('reportstats_spaces_scoped', 'new_rows',
    reportstats_by_operation($sql$
        IF NOT EXISTS (SELECT 1 FROM (%s) m) THEN
            RETURN NULL;
        END IF
    $sql$, reportstats_space_moves('INSERT'), reportstats_space_moves('UPDATE'))
    || reportstats_by_operation($sql$
        PERFORM pg_advisory_xact_lock(hashtext(workspace_id::text), hashtext(space_token))
        FROM (SELECT DISTINCT workspace_id, space_token FROM (%s) m ORDER BY 1, 2) w
    $sql$, reportstats_space_moves('INSERT'), reportstats_space_moves('UPDATE'))
    || reportstats_by_operation($sql$
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
    $sql$, reportstats_space_moves('INSERT'), reportstats_space_moves('UPDATE'))
    || reportstats_by_operation($sql$
        INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
        SELECT v.workspace_id, v.day, v.viewer_id, -sum(m.sign), sum(m.sign)
        FROM (%s) m
        JOIN space_viewer_days v ON v.workspace_id = m.workspace_id AND v.space_token = m.space_token
        WHERE v.reports > 0
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, day, viewer_id) DO UPDATE SET
            listed_spaces = viewer_days.listed_spaces + EXCLUDED.listed_spaces,
            personal_spaces = viewer_days.personal_spaces + EXCLUDED.personal_spaces
    $sql$, reportstats_space_moves('INSERT'), reportstats_space_moves('UPDATE')));

DROP FUNCTION reportstats_define_trigger(TEXT, TEXT, TEXT);
DROP FUNCTION reportstats_by_operation(TEXT, TEXT, TEXT);
