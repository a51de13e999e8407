"""Part 8, live ingestion: what a deployment's BI applications send, a view
at a time from many processes. wrk posts batches of one and of ten events
with unique ids at 16 and 64 connections to `reportstats serve` (rate limit
off), on each backend; the same run measures the limits the disk and the
database set by themselves (a loop of single-row durable commits into a WAL
SQLite file, and pgbench's single-row INSERTs), so the ratios are recorded
rather than absolute numbers this machine varies on. Then reads beside
writes (the mixed load) and one workspace flooding while another writes a
view at a time (fairness).
"""

import json
import sqlite3
import subprocess
import tempfile
import time

from harness import (Client, StepError, create_workspace, import_file, log, paths, run, run_wrk, serve,
                     sqlite_url, start_wrk, wrk_result)
from reporting import verdict

REPORTS = 1_000


def reports_file():
    """A thousand reports in twenty spaces for the views to land on."""
    path = paths.work / "live-reports.ndjson"
    with open(path, "w") as out:
        for report in range(1, REPORTS + 1):
            out.write(json.dumps({
                "id": f"created-{report}", "type": "report_created", "report_id": report,
                "report_token": f"rep{report}", "space_token": f"space{report % 20}",
                "occurred_at": "2025-05-01T00:00:00Z", "email": "owner@bench.example", "name": f"Report {report}",
            }) + "\n")
    return path


def sqlite_commit_loop(seconds: float) -> float:
    """Single-row durable commits per second into a WAL SQLite file
    (synchronous=FULL, as reportstats commits), one after another."""
    with tempfile.TemporaryDirectory(dir=paths.work) as directory:
        connection = sqlite3.connect(f"{directory}/loop.db", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        commits, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            connection.execute("BEGIN")
            connection.execute("INSERT INTO t (body) VALUES (?)", (f"event {commits}",))
            connection.execute("COMMIT")
            commits += 1
        elapsed = time.perf_counter() - started
        connection.close()
    return commits / elapsed


def pgbench_inserts(postgres, seconds: int, clients: int) -> float:
    """pgbench's transactions per second, each one single-row INSERT, on a
    fresh database of the same server."""
    url = postgres.fresh("pgbench")
    run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, body TEXT)"])
    script = paths.work / "pgbench-insert.sql"
    script.write_text("INSERT INTO t (body) VALUES ('event');\n")
    proc = run(["pgbench", "-n", "-f", script, "-c", clients, "-j", 2, "-T", seconds, url])
    for line in proc.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise StepError(f"pgbench printed no tps:\n{proc.stdout}")


def stored_events(url: str) -> int:
    if url.startswith("sqlite://"):
        connection = sqlite3.connect(f"file:{url[len('sqlite://'):]}?mode=ro", uri=True)
        try:
            return connection.execute("SELECT count(*) FROM event_ids").fetchone()[0]
        finally:
            connection.close()
    out = subprocess.run(["psql", url, "-Atc", "SELECT count(*) FROM events"], capture_output=True, text=True,
                         check=True).stdout
    return int(out)


def post_load(port, key, seconds, connections, batch, tag):
    """wrk posting `batch`-event batches; events/s from the answered requests."""
    result = run_wrk(f"http://127.0.0.1:{port}/api/{key['workspace']}/events", Client(port, key).authorization,
                     seconds, connections, script="events.lua",
                     env={"BENCH_BATCH_EVENTS": str(batch), "BENCH_RUN": tag, "BENCH_REPORTS": str(REPORTS)})
    result["events_per_s"] = result["rps"] * batch
    log(f"  {batch}-event batches, {connections} conns: {result['events_per_s']:,.0f} events/s, "
        f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms")
    return result


def part_live(cfg, rows, postgres):
    seconds = cfg["wrk_seconds"]
    details = {}
    reports = reports_file()

    loop = sqlite_commit_loop(min(seconds, 5))
    log(f"live: SQLite single-row durable commit loop: {loop:,.0f} commits/s")
    details["sqlite_commit_loop"] = loop
    rows.append(("8 live", "reference: single-row durable commits into a WAL SQLite file, one after another",
                 f"{loop:,.0f} commits/s", "—", "—"))
    pgbench = None
    if postgres:
        pgbench = pgbench_inserts(postgres, seconds, 16)
        log(f"live: pgbench single-row INSERTs, 16 clients: {pgbench:,.0f} tps")
        details["pgbench"] = pgbench
        rows.append(("8 live", "reference: pgbench single-row INSERTs, 16 clients, same server",
                     f"{pgbench:,.0f} tps", "—", "—"))

    backends = [("SQLite", sqlite_url("live"))]
    if postgres:
        backends.append(("PostgreSQL", postgres.fresh("live")))
    for backend, url in backends:
        key = create_workspace(url)
        flood_key = create_workspace(url, "flood")
        import_file(url, reports)
        import_file(url, reports, "flood")
        before = stored_events(url)
        answered = 0
        results = {}
        with serve(url, f"live-{backend.lower()}") as port:
            for connections in (16, 64):
                for batch in (1, 10):
                    tag = f"{backend}-{connections}-{batch}"
                    result = post_load(port, key, seconds, connections, batch, tag)
                    results[tag] = result
                    answered += result["requests"] * batch
            # Every answered batch is stored (wrk may leave a few more in
            # flight when it stops, also stored).
            stored = stored_events(url) - before
            if stored < answered:
                raise StepError(f"{backend}: {answered} events answered, only {stored} stored")
            log(f"  {stored:,} events stored, {answered:,} answered")

            mixed = mixed_load(port, key, seconds, backend)
            fair = fairness(url, port, key, flood_key, seconds, cfg["flood_batch"], backend)
        details[backend] = {"results": results, "mixed": mixed, "fairness": fair}

        for connections, batch in ((16, 1), (64, 1), (16, 10), (64, 10)):
            result = results[f"{backend}-{connections}-{batch}"]
            measured = (f"{result['events_per_s']:,.0f} events/s ({result['rps']:,.0f} batches/s); "
                        f"p50 {result['p50_ms']:.2f} ms; p99 {result['p99_ms']:.2f} ms")
            target, holds = "—", "—"
            if backend == "SQLite" and batch == 1:
                measured += f"; {result['rps'] / loop:.1f}× the commit loop"
                events, p99 = (20_000, 20) if connections == 64 else (10_000, 10)
                target = f"≥ {events:,} events/s, p99 ≤ {p99} ms"
                holds = verdict(result["events_per_s"] >= events and result["p99_ms"] <= p99)
            if backend == "PostgreSQL" and batch == 1 and pgbench:
                measured += f"; {result['rps'] / pgbench:.2f}× pgbench"
                target = "≥ pgbench's tps"
                holds = verdict(result["rps"] >= pgbench)
            rows.append(("8 live", f"{backend}: {batch}-event batches, {connections} connections", measured,
                         target, holds))
        rows.append(("8 live", f"{backend}: mixed load, 64 connections ({mixed['readers']} reading "
                     f"report_stats, {mixed['writers']} posting 5-event batches)",
                     f"reads {mixed['reads']['rps']:,.0f}/s, p99 {mixed['reads']['p99_ms']:.2f} ms; "
                     f"writes {mixed['writes']['rps']:,.0f}/s, p99 {mixed['writes']['p99_ms']:.2f} ms",
                     "p99 ≤ 50 ms for both",
                     verdict(max(mixed['reads']['p99_ms'], mixed['writes']['p99_ms']) <= 50)))
        rows.append(("8 live", f"{backend}: one-event writes while another workspace posts "
                     f"{cfg['flood_batch']:,}-event batches on 4 connections",
                     f"victim {fair['victim']['rps']:,.0f} batches/s, p99 {fair['victim']['p99_ms']:.2f} ms "
                     f"(alone: {fair['alone']['p99_ms']:.2f} ms); flood {fair['flood']['events_per_s']:,.0f} "
                     f"events/s stored", "victim p99 ≤ 50 ms", verdict(fair["victim"]["p99_ms"] <= 50)))
    return details


def mixed_load(port, key, seconds, backend):
    """45 connections reading a report_stats page beside 19 posting
    five-event batches (about 70/30 by connection), each wrk on a thread."""
    client = Client(port, key)
    readers, writers = 45, 19
    reading = start_wrk(f"http://127.0.0.1:{port}{client.stats_path(1, 100)}", client.authorization, seconds,
                        readers, threads=1)
    writing = start_wrk(f"http://127.0.0.1:{port}/api/{key['workspace']}/events", client.authorization, seconds,
                        writers, script="events.lua", threads=1,
                        env={"BENCH_BATCH_EVENTS": "5", "BENCH_RUN": f"{backend}-mixed",
                             "BENCH_REPORTS": str(REPORTS)})
    reads, writes = wrk_result(reading), wrk_result(writing)
    log(f"  mixed: reads {reads['rps']:,.0f}/s p99 {reads['p99_ms']:.2f} ms; "
        f"writes {writes['rps']:,.0f}/s p99 {writes['p99_ms']:.2f} ms")
    return {"readers": readers, "writers": writers, "reads": reads, "writes": writes}


def fairness(url, port, key, flood_key, seconds, flood_batch, backend):
    """One-event writes on 4 connections, alone and then while the `flood`
    workspace posts `flood_batch`-event batches on 4 connections. The
    flood's rate is what it stored while the victim wrote (the events
    stored meanwhile, less the victim's): a writer that takes a large batch
    a slice at a time may answer none of the flood's requests within the
    run."""
    victim_url = f"http://127.0.0.1:{port}/api/{key['workspace']}/events"
    victim_env = {"BENCH_BATCH_EVENTS": "1", "BENCH_REPORTS": str(REPORTS)}
    authorization = Client(port, key).authorization
    alone = run_wrk(victim_url, authorization, seconds, 4, script="events.lua", threads=1,
                    env={**victim_env, "BENCH_RUN": f"{backend}-alone"})
    flooding = start_wrk(f"http://127.0.0.1:{port}/api/flood/events", Client(port, flood_key).authorization,
                         seconds + 2, 4, script="events.lua", threads=1,
                         env={"BENCH_BATCH_EVENTS": str(flood_batch), "BENCH_RUN": f"{backend}-flood",
                              "BENCH_REPORTS": str(REPORTS)})
    time.sleep(1)
    before, started = stored_events(url), time.perf_counter()
    victim = run_wrk(victim_url, authorization, seconds, 4, script="events.lua", threads=1,
                     env={**victim_env, "BENCH_RUN": f"{backend}-victim"})
    stored, elapsed = stored_events(url) - before, time.perf_counter() - started
    flood = wrk_result(flooding, allow_none=True)
    flood["events_per_s"] = max(stored - victim["requests"], 0) / elapsed
    log(f"  fairness: alone p99 {alone['p99_ms']:.2f} ms; beside the flood p99 {victim['p99_ms']:.2f} ms; "
        f"flood {flood['events_per_s']:,.0f} events/s stored, {flood['requests']} batches answered")
    return {"alone": alone, "victim": victim, "flood": flood}
