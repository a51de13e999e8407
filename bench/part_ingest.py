"""Part 1, ingest: `import` of one generated stream into SQLite and PostgreSQL,
timed side by side with DuckDB computing the same statistics from the same
NDJSON; DuckDB's result must equal every page served.
"""

import json

from harness import (AS_OF, BENCH, PYTHON, RECENT_DAYS, Client, StepError, compare, create_workspace, generate,
                     import_file, log, paths, run, serve, sqlite_url)
from reporting import count, verdict


def part_ingest(cfg, rows, postgres):
    path, events, _ = generate("ingest", cfg["ingest"])
    details = {"events": events}

    log("import into SQLite ...")
    url = sqlite_url("ingest")
    key = create_workspace(url)
    sqlite = import_file(url, path)
    log(f"  {sqlite}")

    pg = pg_url = pg_key = None
    if postgres:
        log("import into PostgreSQL ...")
        pg_url = postgres.fresh("ingest")
        pg_key = create_workspace(pg_url)
        pg = import_file(pg_url, path)
        log(f"  {pg}")

    log("DuckDB: load the same NDJSON and compute the statistics ...")
    ref_file = paths.work / "duckdb_stats.json"
    proc, duck_wall, duck_rss = run(
        [PYTHON, BENCH / "duckdb_stats.py", path, "--as-of", AS_OF, "--recent-days", RECENT_DAYS, "--out", ref_file],
        timed=True)
    log("  " + proc.stderr.strip())
    reference = json.loads(ref_file.read_text())
    duck = reference["timings"]
    ref_all = reference["rows"]
    ref_shared = [{k: v for k, v in r.items() if k != "personal"} for r in ref_all if not r["personal"]]
    ref_all = [{k: v for k, v in r.items() if k != "personal"} for r in ref_all]
    if duck["events"] != events:
        raise StepError(f"DuckDB read {duck['events']} events, the generator wrote {events}")
    if duck["distinct_events"] != sqlite["new"]:
        raise StepError(f"DuckDB found {duck['distinct_events']} distinct ids, SQLite import stored {sqlite['new']} new")

    checks = []
    backends = [("SQLite", url, key)] + ([("PostgreSQL", pg_url, pg_key)] if postgres else [])
    for backend, db_url, db_key in backends:
        with serve(db_url, f"ingest-{backend.lower()}") as port:
            client = Client(port, db_key)
            shared = client.all_rows(include_all=False)
            everything = client.all_rows(include_all=True)
            client.close()
        checks.append(f"{backend}: default {compare(shared, ref_shared, backend + ' default')}, "
                      f"include_spaces=all {compare(everything, ref_all, backend + ' include_spaces=all')}")
        log(f"  DuckDB == reportstats on {backend}: {checks[-1]}")

    details.update(sqlite=sqlite, postgres=pg, duckdb={**duck, "wall": duck_wall, "rss_mb": duck_rss / 1024},
                   checks=checks)
    views = duck["types"].get("report_viewed", 0) / events
    runs = duck["types"].get("report_run", 0) / events
    n = count(events)
    mix = f"{views:.0%} views, {runs:.0%} runs"
    details["mix"] = duck["types"]
    holds = sqlite["tool_rate"] >= 500_000 and sqlite["rss_mb"] <= 300
    rows.append(("1 ingest", f"`import` {n} events ({mix}) → SQLite",
                 f"{sqlite['tool_rate']:,} ev/s (tool); {events / sqlite['wall']:,.0f} ev/s wall ({sqlite['wall']:.2f} s); "
                 f"peak RSS {sqlite['rss_mb']:.0f} MB",
                 "≥ 500,000 ev/s, RSS ≤ 300 MB", verdict(holds)))
    if pg:
        rows.append(("1 ingest", f"`import` {n} events → PostgreSQL",
                     f"{pg['tool_rate']:,} ev/s (tool); {events / pg['wall']:,.0f} ev/s wall ({pg['wall']:.2f} s); "
                     f"peak RSS {pg['rss_mb']:.0f} MB (client)", "—", "—"))
    rows.append(("1 ingest", "DuckDB: load NDJSON + same stats in SQL",
                 f"{events / duck_wall:,.0f} ev/s wall ({duck_wall:.2f} s = load {duck['load']:.2f} + compute "
                 f"{duck['compute']:.2f} + Python start/write); peak RSS {duck_rss / 1024:.0f} MB", "—", "—"))
    ratio = f"SQLite {sqlite['wall'] / duck_wall:.1f}×"
    if pg:
        ratio += f", PostgreSQL {pg['wall'] / duck_wall:.1f}×"
    rows.append(("1 ingest", "time ratio ours / DuckDB (wall)", ratio, "—", "—"))
    rows.append(("1 ingest", "DuckDB result == served report_stats (all pages, default and include_spaces=all)",
                 "; ".join(checks), "identical", verdict(True)))
    return {"sqlite": (url, key), "postgres": (pg_url, pg_key) if pg else None, "details": details}
