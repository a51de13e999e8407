#!/usr/bin/env python3
"""reportstats benchmarks; run through `bench/run` (which installs what this
needs). See BENCHMARKS.md for what each part measures.

Parts:
  1 ingest     `import` of a ~2M-event stream into SQLite and PostgreSQL, side
               by side with DuckDB computing the same statistics from the same
               NDJSON with SQL; DuckDB's result must equal every page served.
  2 serving    wrk against GET /batch/{ws}/report_stats?per_page=1000 of a
               100,000-report workspace, and against nginx serving the same
               bytes as a static file.
  3 scale      first/last page latency at 10k, 100k and 1M reports; ingest rate
               at the start and the end of a 10M-event import (10 files).
  4 freshness  polls needed until an acknowledged batch shows in report_stats.
  5 catalog    /queries, /charts, /members, /spaces and /reports pages against a
               report_stats page of the same size, on the serving workspace.
  6 usage      report_usage and usage_daily, beside DuckDB's rows.
  7 dashboard  each dashboard page's time on the serving workspace, and the
               overview's SVG size (at 1M reports too, in part 3).
  8 live       one- and ten-event batches posted by wrk at 16 and 64
               connections on each backend, beside a SQLite commit loop and
               pgbench; reads beside writes; one workspace flooding beside
               another's single views.

Layout (all under bench/):
  bench.py           this entry point: the command line and the order of the parts
  harness.py         sizes, the run's paths, commands, servers, client, wrk
  part_ingest.py     part 1          part_serving.py    part 2
  part_scale.py      part 3          part_freshness.py  part 4
  part_catalog.py    part 5          part_usage.py      part 6
  part_dashboard.py  part 7          part_live.py       part 8
  reporting.py       the results table, verdicts, the binary under test
  duckdb_stats.py    the SQL reference part 1 runs (a script, not imported)
  duckdb_usage.py    the SQL reference part 6 runs (a script)

Everything generated lives under target/bench/ and is removed at the end
(unless --keep). Exit status 1 if any step failed or the statistics disagree.
"""

import argparse
import json
import os
import shutil
import sys
import time
import traceback

# The modules below are imported from bench/: leave no __pycache__ in the
# source tree (the single-file harness never wrote one).
sys.dont_write_bytecode = True

from harness import (FULL, ROOT, SMOKE, Postgres, create_workspace, generate, import_file, log, move_windows,
                     paths, sqlite_url)
from part_catalog import part_catalog
from part_dashboard import part_dashboard
from part_freshness import part_freshness
from part_ingest import part_ingest
from part_live import part_live
from part_scale import part_scale
from part_serving import part_serving
from part_usage import part_usage
from reporting import describe_binary, table


def main() -> int:
    parser = argparse.ArgumentParser(description="reportstats benchmarks (run through bench/run)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, well under a minute")
    parser.add_argument("--keep", action="store_true", help="keep target/bench/<mode>/ (data, logs) afterwards")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL import")
    parser.add_argument("--parts", default="ingest,serving,scale,freshness,catalog,usage,dashboard,live",
                        help="comma-separated subset of ingest,serving,scale,freshness,catalog,usage,dashboard,live")
    args = parser.parse_args()
    cfg = SMOKE if args.smoke else FULL
    mode = "smoke" if args.smoke else "full"
    parts = set(args.parts.split(","))

    rows, details, durations, failures = [], {"mode": mode}, {}, []
    paths.work = ROOT / "target" / "bench" / mode
    if paths.work.exists():
        shutil.rmtree(paths.work)
    paths.work.mkdir(parents=True)
    if not paths.binary.exists():
        raise SystemExit(f"{paths.binary} is missing: run `cargo build --release` (bench/run does)")
    # A private copy: a rebuild in the shared target/ during the run must not
    # swap the binary under the benchmark (databases made by one build).
    (paths.work / "bin").mkdir()
    shutil.copy2(paths.binary, paths.work / "bin" / "reportstats")
    details["binary"] = describe_binary(paths.binary)
    log(f"benchmarking {details['binary']}")
    paths.binary = paths.work / "bin" / "reportstats"

    postgres = None
    if not args.no_postgres:
        postgres = Postgres(os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"))

    started_all = time.perf_counter()

    def part(name, fn, *fargs, always=False):
        if name not in parts and not always:
            return None
        log(f"=== part {name} ===")
        started = time.perf_counter()
        try:
            return fn(*fargs)
        except Exception as error:  # keep going: report every part
            failures.append(name)
            message = str(error).strip()
            log(f"part {name} FAILED:\n{traceback.format_exc()}")
            rows.append((name, "FAILED", message.splitlines()[0][:300] if message else type(error).__name__,
                         "", "error"))
            return None
        finally:
            durations[name] = time.perf_counter() - started
            log(f"=== part {name}: {durations[name]:.0f} s ===")

    try:
        ingest = part("ingest", part_ingest, cfg, rows, postgres)
        if ingest:
            details["ingest"] = ingest["details"]

        serving_db = None
        if parts & {"serving", "scale", "catalog", "usage", "dashboard"} or ("freshness" in parts and not ingest):
            def prepare_serving():
                path, _, _ = generate("serving", cfg["serving"])
                url = sqlite_url("serving")
                key = create_workspace(url)
                imported = import_file(url, path)
                log(f"  serving workspace imported: {imported}")
                log(f"  usage windows moved by a server in {move_windows(url, 'serving'):.1f} s")
                return (url, key, cfg["serving"]["reports"])
            serving_db = part("prepare", prepare_serving, always=True)
        if serving_db:
            # Usage first: it checks the workspace against DuckDB's rows from
            # the same NDJSON, before the other parts' writes change it.
            for name, fn in (("usage", part_usage), ("serving", part_serving), ("scale", part_scale),
                             ("catalog", part_catalog), ("dashboard", part_dashboard)):
                if name in parts:
                    details[name] = part(name, fn, cfg, rows, serving_db)
            if parts & {"catalog", "usage", "dashboard"} and postgres:
                served = {}

                def serving_on_postgres():
                    if not served:
                        url = postgres.fresh("serving")
                        key = create_workspace(url)
                        import_file(url, paths.work / "serving.ndjson")
                        # Moved first: the first move writes every report's
                        # windows, which VACUUM then settles.
                        moved = move_windows(url, "serving-postgres")
                        log(f"  usage windows moved by a server in {moved:.1f} s")
                        postgres.settle(url)
                        served["db"] = (url, key, serving_db[2])
                    return served["db"]
                for name, fn in (("usage", part_usage), ("catalog", part_catalog), ("dashboard", part_dashboard)):
                    if name in parts:
                        details[f"{name}_postgres"] = part(
                            f"{name}_postgres", lambda fn=fn: fn(cfg, rows, serving_on_postgres(), "PostgreSQL"),
                            always=True)

        backends = []
        if ingest:
            backends.append(("SQLite", ingest["sqlite"]))
            if ingest["postgres"]:
                backends.append(("PostgreSQL", ingest["postgres"]))
        elif "freshness" in parts and serving_db:
            backends.append(("SQLite", serving_db[:2]))
        if backends:
            details["freshness"] = part("freshness", part_freshness, cfg, rows, backends)
        details["live"] = part("live", part_live, cfg, rows, postgres)
    finally:
        if postgres:
            postgres.drop_all()

    total = time.perf_counter() - started_all
    rows.append(("run", "binary", details["binary"], "", ""))
    rows.append(("run", "time per part",
                 "; ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items()) + f"; total {total:.0f} s",
                 "", ""))
    details["durations"] = durations
    out = table(rows)
    print(out)
    results_dir = ROOT / "target" / "bench"
    (results_dir / f"results-{mode}.md").write_text(out + "\n")
    (results_dir / f"results-{mode}.json").write_text(json.dumps(details, indent=2, default=str))
    log(f"table and details written to {results_dir}/results-{mode}.{{md,json}}")
    if not args.keep:
        shutil.rmtree(paths.work, ignore_errors=True)
    if failures:
        log(f"FAILED parts: {', '.join(failures)}")
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
