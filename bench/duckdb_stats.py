#!/usr/bin/env python3
"""The report statistics of SPEC section 4, computed by DuckDB with plain SQL
straight from an NDJSON event file: the independent reference `bench/run`
compares reportstats with, and the baseline it times reportstats against.

    duckdb_stats.py EVENTS.ndjson --as-of 2026-06-02T00:00:00Z --out stats.json

Writes {"rows": [...], "timings": {...}} where every row is one report with
the fields of `GET /batch/{ws}/report_stats` plus "personal" (its current
space is `private`), ordered by report_id. Timings: `load` (parse the NDJSON
into a table), `compute` (everything else, up to the rows in Python).
"""

import argparse
import json
import sys
import time

import duckdb

# Every field any event type may carry (SPEC section 3). Unknown fields would
# be a rejected event for reportstats; the generator never writes any.
COLUMNS = {
    "id": "VARCHAR",
    "type": "VARCHAR",
    "occurred_at": "VARCHAR",
    "email": "VARCHAR",
    "username": "VARCHAR",
    "name": "VARCHAR",
    "description": "VARCHAR",
    "space_token": "VARCHAR",
    "space_type": "VARCHAR",
    "report_id": "BIGINT",
    "report_token": "VARCHAR",
    "run_token": "VARCHAR",
    "trigger": "VARCHAR",
    "state": "VARCHAR",
    "schedule_token": "VARCHAR",
    "exploration_token": "VARCHAR",
}

# Last writer wins: the latest occurred_at, ties to the larger id (byte order).
LWW = "ORDER BY t DESC, id DESC"

STATS_SQL = f"""
-- One row per distinct event id: the first occurrence in file order (rowid
-- follows file order because insertion order is preserved).
CREATE TEMP TABLE ev AS
SELECT id, type, CAST(occurred_at AS TIMESTAMPTZ) AS t, lower(email) AS email,
       space_token, coalesce(space_type, 'custom') AS space_type,
       report_id, report_token, trigger, schedule_token, exploration_token
FROM (SELECT rowid AS line, * FROM raw)
QUALIFY row_number() OVER (PARTITION BY id ORDER BY line) = 1;

-- Reports: token and creator from the last report_created; space from the
-- last report_created or report_moved; any report_deleted is final.
CREATE TEMP TABLE report_def AS
SELECT report_id, report_token, email AS creator FROM ev
WHERE type = 'report_created'
QUALIFY row_number() OVER (PARTITION BY report_id {LWW}) = 1;

CREATE TEMP TABLE report_space AS
SELECT report_id, space_token FROM ev
WHERE type IN ('report_created', 'report_moved')
QUALIFY row_number() OVER (PARTITION BY report_id {LWW}) = 1;

CREATE TEMP TABLE deleted_reports AS
SELECT DISTINCT report_id FROM ev WHERE type = 'report_deleted';

-- A space's type is its last space_upserted's, deleted or not.
CREATE TEMP TABLE space_def AS
SELECT space_token, space_type FROM ev
WHERE type = 'space_upserted'
QUALIFY row_number() OVER (PARTITION BY space_token {LWW}) = 1;

-- Schedules: report and creator from the last schedule_created; paused state
-- from the last pause/resume; deletion final.
CREATE TEMP TABLE schedule_def AS
SELECT schedule_token, report_id, email AS creator FROM ev
WHERE type = 'schedule_created'
QUALIFY row_number() OVER (PARTITION BY schedule_token {LWW}) = 1;

CREATE TEMP TABLE schedule_paused AS
SELECT schedule_token, type = 'schedule_paused' AS paused FROM ev
WHERE type IN ('schedule_paused', 'schedule_resumed')
QUALIFY row_number() OVER (PARTITION BY schedule_token {LWW}) = 1;

CREATE TEMP TABLE active_schedules AS
SELECT d.report_id, count(*) AS n
FROM schedule_def d
LEFT JOIN schedule_paused p USING (schedule_token)
WHERE NOT coalesce(p.paused, false)
  AND d.schedule_token NOT IN (SELECT schedule_token FROM ev WHERE type = 'schedule_deleted')
GROUP BY d.report_id;

CREATE TEMP TABLE live_explorations AS
SELECT report_id, count(*) AS n FROM (
    SELECT exploration_token, report_id FROM ev
    WHERE type = 'exploration_created'
    QUALIFY row_number() OVER (PARTITION BY exploration_token {LWW}) = 1
) e
WHERE exploration_token NOT IN (SELECT exploration_token FROM ev WHERE type = 'exploration_deleted')
GROUP BY report_id;

CREATE TEMP TABLE views AS
SELECT report_id, count(*) AS n FROM ev WHERE type = 'report_viewed' GROUP BY report_id;

CREATE TEMP TABLE manual_creators AS
SELECT report_id, list_sort(list(DISTINCT email)) AS emails FROM ev
WHERE type = 'report_run' AND trigger = 'manual'
  AND t >= CAST($as_of AS TIMESTAMPTZ) - to_days(CAST($recent_days AS INTEGER))
GROUP BY report_id;

-- The creator of the schedule behind each scheduled run, deleted or not.
CREATE TEMP TABLE scheduled_creators AS
SELECT r.report_id, list_sort(list(DISTINCT d.creator)) AS emails
FROM ev r JOIN schedule_def d USING (schedule_token)
WHERE r.type = 'report_run' AND r.trigger = 'scheduled'
GROUP BY r.report_id;

CREATE TEMP TABLE editors AS
SELECT report_id, list_sort(list(DISTINCT email)) AS emails FROM (
    SELECT report_id, creator AS email FROM report_def
    UNION ALL
    SELECT report_id, email FROM ev WHERE type = 'report_edited'
) GROUP BY report_id;
"""

RESULT_SQL = """
SELECT d.report_id, d.report_token,
       coalesce(a.n, 0), coalesce(x.n, 0), coalesce(v.n, 0),
       coalesce(m.emails, []), coalesce(s.emails, []), coalesce(e.emails, []),
       coalesce(sp.space_type = 'private', false) AS personal
FROM report_def d
LEFT JOIN report_space rs USING (report_id)
LEFT JOIN space_def sp ON sp.space_token = rs.space_token
LEFT JOIN active_schedules a USING (report_id)
LEFT JOIN live_explorations x USING (report_id)
LEFT JOIN views v USING (report_id)
LEFT JOIN manual_creators m USING (report_id)
LEFT JOIN scheduled_creators s USING (report_id)
LEFT JOIN editors e USING (report_id)
WHERE d.report_id NOT IN (SELECT report_id FROM deleted_reports)
ORDER BY d.report_id
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events")
    parser.add_argument("--as-of", required=True, help="RFC 3339; the server's frozen clock")
    parser.add_argument("--recent-days", type=int, default=90)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    started = time.perf_counter()
    con = load(args.events)
    loaded = time.perf_counter()
    for statement in STATS_SQL.split(";\n"):
        if statement.strip():
            con.execute(statement, _params(statement, args))
    result = con.execute(RESULT_SQL).fetchall()
    computed = time.perf_counter()

    rows = [
        {
            "report_id": r[0],
            "report_token": r[1],
            "active_schedules_count": r[2],
            "explorations_count": r[3],
            "total_views_count": r[4],
            "view_count": r[4],
            "recent_manual_run_creators_emails": list(r[5]),
            "scheduled_run_creators_emails": list(r[6]),
            "editors_emails": list(r[7]),
            "personal": bool(r[8]),
        }
        for r in result
    ]
    # Outside the timings: the event mix, for the report.
    types = dict(con.execute("SELECT type, count(*) FROM raw GROUP BY type ORDER BY 2 DESC").fetchall())
    events = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    distinct = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    timings = {
        "load": loaded - started,
        "compute": computed - loaded,
        "total": computed - started,
        "events": events,
        "distinct_events": distinct,
        "types": types,
    }
    with open(args.out, "w") as out:
        json.dump({"rows": rows, "timings": timings}, out)
    print(
        f"DuckDB {duckdb.__version__}: {events} events ({distinct} distinct) -> {len(rows)} reports; "
        f"load {timings['load']:.2f} s, compute {timings['compute']:.2f} s, total {timings['total']:.2f} s",
        file=sys.stderr,
    )
    return 0


def load(events: str) -> "duckdb.DuckDBPyConnection":
    """A connection holding the NDJSON file `events` as the table `raw`, in
    file order, times in UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    con.execute(
        f"CREATE TEMP TABLE raw AS SELECT * FROM read_json(?, format = 'newline_delimited', "
        f"columns = {columns})",
        [events],
    )
    return con


def _params(statement: str, args) -> dict:
    params = {}
    if "$as_of" in statement:
        params["as_of"] = args.as_of
    if "$recent_days" in statement:
        params["recent_days"] = args.recent_days
    return params


if __name__ == "__main__":
    sys.exit(main())
