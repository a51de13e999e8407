#!/usr/bin/env python3
"""The `report_usage` rows of SPEC section 8, computed by DuckDB with plain
SQL straight from an NDJSON event file: the independent reference part 6
checks reportstats against, and times it against.

    duckdb_usage.py EVENTS.ndjson --as-of 2025-06-01T12:00:00Z --out usage.json

Writes {"rows": [...], "timings": {...}}: every live report with the fields
of `GET /batch/{ws}/report_usage` plus "personal" (its current space is
`private`), sorted as `sort=-views_30d` sorts them (views in the last 30
days descending, ties by report_id). Timings: `load` (the NDJSON into a
table), `compute` (everything else, up to the rows in Python).
"""

import argparse
import json
import sys
import time

import duckdb

from duckdb_stats import LWW, STATS_SQL, load

# The stats script's statements but its first (the deduplicated events,
# made here with the name and run state too).
REUSED = ";\n".join(s for s in STATS_SQL.split(";\n") if s.strip() and "CREATE TEMP TABLE ev AS" not in s)

USAGE_SQL = f"""
CREATE TEMP TABLE ev AS
SELECT id, type, CAST(occurred_at AS TIMESTAMPTZ) AS t,
       CAST(CAST(occurred_at AS TIMESTAMPTZ) AS DATE) AS day, lower(email) AS email,
       name, state, space_token, coalesce(space_type, 'custom') AS space_type,
       report_id, report_token, trigger, schedule_token, exploration_token
FROM (SELECT rowid AS line, * FROM raw)
QUALIFY row_number() OVER (PARTITION BY id ORDER BY line) = 1;
{REUSED};

-- A report's name: the last report_created or report_edited that gave one.
CREATE TEMP TABLE report_name AS
SELECT report_id, name FROM ev
WHERE type IN ('report_created', 'report_edited') AND name IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY report_id {LWW}) = 1;

CREATE TEMP TABLE report_created_at AS
SELECT report_id, min(t) AS created_at FROM ev WHERE type = 'report_created' GROUP BY report_id;

-- Windows are UTC dates from D-N+1 on (later dates count too).
CREATE TEMP TABLE usage_views AS
SELECT report_id,
       count(*) AS total,
       count(*) FILTER (WHERE day >= $today - 6) AS v7,
       count(*) FILTER (WHERE day >= $today - 29) AS v30,
       count(*) FILTER (WHERE day >= $today - 89) AS v90,
       count(DISTINCT email) AS viewers,
       count(DISTINCT email) FILTER (WHERE day >= $today - 6) AS u7,
       count(DISTINCT email) FILTER (WHERE day >= $today - 29) AS u30,
       count(DISTINCT email) FILTER (WHERE day >= $today - 89) AS u90,
       max(t) AS last_viewed
FROM ev WHERE type = 'report_viewed' GROUP BY report_id;

CREATE TEMP TABLE usage_runs AS
SELECT report_id,
       count(*) FILTER (WHERE day >= $today - 29) AS runs,
       count(*) FILTER (WHERE day >= $today - 29 AND state = 'failed') AS failed
FROM ev WHERE type = 'report_run' GROUP BY report_id;
"""

RESULT_SQL = """
SELECT d.report_id, d.report_token, n.name, rs.space_token, d.creator,
       strftime(c.created_at, '%Y-%m-%dT%H:%M:%S.%gZ'),
       coalesce(v.total, 0), coalesce(v.v7, 0), coalesce(v.v30, 0), coalesce(v.v90, 0),
       coalesce(v.viewers, 0), coalesce(v.u7, 0), coalesce(v.u30, 0), coalesce(v.u90, 0),
       strftime(v.last_viewed, '%Y-%m-%dT%H:%M:%S.%gZ'),
       $today - CAST(v.last_viewed AS DATE),
       coalesce(r.runs, 0), coalesce(r.failed, 0), coalesce(a.n, 0),
       coalesce(sp.space_type = 'private', false) AS personal
FROM report_def d
LEFT JOIN report_name n USING (report_id)
LEFT JOIN report_created_at c USING (report_id)
LEFT JOIN report_space rs USING (report_id)
LEFT JOIN space_def sp ON sp.space_token = rs.space_token
LEFT JOIN usage_views v USING (report_id)
LEFT JOIN usage_runs r USING (report_id)
LEFT JOIN active_schedules a USING (report_id)
WHERE d.report_id NOT IN (SELECT report_id FROM deleted_reports)
ORDER BY coalesce(v.v30, 0) DESC, d.report_id
"""

FIELDS = [
    "report_id", "report_token", "name", "space_token", "creator_email", "created_at",
    "total_views_count", "views_7d", "views_30d", "views_90d",
    "total_viewers_count", "viewers_7d", "viewers_30d", "viewers_90d",
    "last_viewed_at", "days_since_last_view", "runs_30d", "failed_runs_30d", "active_schedules_count",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events")
    parser.add_argument("--as-of", required=True, help="RFC 3339; the server's frozen clock")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    started = time.perf_counter()
    con = load(args.events)
    loaded = time.perf_counter()
    today = con.execute("SELECT CAST(CAST(? AS TIMESTAMPTZ) AS DATE)", [args.as_of]).fetchone()[0]
    for statement in USAGE_SQL.split(";\n"):
        if statement.strip():
            given = {"today": today, "as_of": args.as_of, "recent_days": 90}
            params = {name: value for name, value in given.items() if f"${name}" in statement}
            con.execute(statement, params)
    result = con.execute(RESULT_SQL, {"today": today}).fetchall()
    computed = time.perf_counter()

    rows = []
    for r in result:
        row = dict(zip(FIELDS, r[:-1]))
        row["personal"] = bool(r[-1])
        rows.append(row)
    timings = {"load": loaded - started, "compute": computed - loaded, "total": computed - started}
    with open(args.out, "w") as out:
        json.dump({"rows": rows, "timings": timings}, out)
    print(
        f"DuckDB {duckdb.__version__}: {len(rows)} report_usage rows; load {timings['load']:.2f} s, "
        f"compute {timings['compute']:.2f} s, total {timings['total']:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
