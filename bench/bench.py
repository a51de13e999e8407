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

Everything generated lives under target/bench/ and is removed at the end
(unless --keep). Exit status 1 if any step failed or the statistics disagree.
"""

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = ROOT / "target" / "release" / "reportstats"
PYTHON = sys.executable

# Generated activity ends here; servers run with their clock frozen at AS_OF,
# and DuckDB computes as of the same instant. Both are in the past so that
# `import` (which refuses events more than 5 minutes ahead of the real clock)
# accepts every event on any machine.
END = "2025-06-01T00:00:00Z"
AS_OF = "2025-06-01T12:00:00Z"
FRESH_AT = "2025-06-01T11:00:00.000Z"
RECENT_DAYS = 90

FULL = {
    "ingest": dict(reports=20_000, members=2_000, views=1_270_000, days=180),
    "serving": dict(reports=100_000, members=5_000, views=200_000, days=30),
    "small": dict(reports=10_000, members=1_000, views=20_000, days=30),
    "big": dict(reports=1_000_000, members=20_000, views=2_000_000, days=30),
    "big_files": 10,
    "wrk_seconds": 10,
    "latency_requests": 20,
    "fresh_trials": 20,
    "fresh_views": 100,
}
SMOKE = {
    "ingest": dict(reports=300, members=100, views=15_000, days=180),
    "serving": dict(reports=2_000, members=200, views=5_000, days=30),
    "small": dict(reports=500, members=100, views=1_000, days=30),
    "big": dict(reports=3_000, members=200, views=6_000, days=30),
    "big_files": 10,
    "wrk_seconds": 2,
    "latency_requests": 5,
    "fresh_trials": 5,
    "fresh_views": 10,
}
SEED = 20_250_601
DUPLICATE_FRACTION = 0.01


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class StepError(Exception):
    pass


# --------------------------------------------------------------------------
# processes


def run(cmd, *, timed=False, check=True, **kwargs):
    """Runs cmd; with timed, under /usr/bin/time: returns (proc, wall_s, max_rss_kb)."""
    cmd = [str(c) for c in cmd]
    if not timed:
        proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
        if check and proc.returncode != 0:
            raise StepError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
        return proc
    tfile = WORK / "time.out"
    proc = subprocess.run(
        ["/usr/bin/time", "-o", str(tfile), "-f", "%e %M", *cmd], capture_output=True, text=True, **kwargs
    )
    if check and proc.returncode != 0:
        raise StepError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    last = tfile.read_text().strip().splitlines()[-1].split()
    return proc, float(last[0]), int(last[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str, proc: subprocess.Popen, what: str, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StepError(f"{what} exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise StepError(f"{what} did not answer {path} within {timeout} s")


@contextmanager
def serve(url: str, name: str):
    """`reportstats serve` on a free loopback port, clock frozen at AS_OF."""
    port = free_port()
    logfile = open(WORK / f"serve-{name}.log", "w")
    proc = subprocess.Popen(
        [BIN, "--database-url", url, "serve", "--listen", f"127.0.0.1:{port}",
         "--frozen-clock", AS_OF, "--rate-limit-per-minute", "0", "--recent-days", str(RECENT_DAYS)],
        stdout=logfile, stderr=subprocess.STDOUT,
    )
    try:
        wait_http(port, "/healthz", proc, f"reportstats serve ({name})")
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        logfile.close()


@contextmanager
def nginx(body: bytes):
    prefix = WORK / "nginx"
    (prefix / "www").mkdir(parents=True, exist_ok=True)
    (prefix / "www" / "report_stats.json").write_bytes(body)
    port = free_port()
    user_line = ""
    if os.geteuid() == 0:
        # Workers would run as `nobody`, who cannot read under target/.
        user_line = "user root root;"
    conf = (BENCH / "nginx.conf.in").read_text()
    conf = conf.replace("@PORT@", str(port)).replace("@PREFIX@", str(prefix)).replace("@USER_LINE@", user_line)
    (prefix / "nginx.conf").write_text(conf)
    logfile = open(prefix / "stderr.log", "w")
    proc = subprocess.Popen(
        ["nginx", "-c", prefix / "nginx.conf", "-p", f"{prefix}/"], stdout=logfile, stderr=subprocess.STDOUT
    )
    try:
        wait_http(port, "/", proc, "nginx", timeout=20)
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful: master stops its workers
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        logfile.close()


# --------------------------------------------------------------------------
# reportstats commands


def generate(name: str, sizes: dict) -> tuple[Path, int, float]:
    path = WORK / f"{name}.ndjson"
    started = time.perf_counter()
    proc = run([BIN, "generate", "--reports", sizes["reports"], "--members", sizes["members"],
                "--views", sizes["views"], "--days", sizes["days"], "--end", END, "--seed", SEED,
                "--duplicate-fraction", DUPLICATE_FRACTION, "-o", path])
    elapsed = time.perf_counter() - started
    # Flush the new file before anything is timed: otherwise the kernel's
    # write-back of it competes with the import that reads it (measured: the
    # first file of the 10M import ran 30% slower right after the split).
    os.sync()
    found = re.search(r"Generated (\d+) events", proc.stderr + proc.stdout)
    if not found:
        raise StepError(f"`generate` printed no event count: {proc.stderr!r}")
    events = int(found.group(1))
    log(f"generated {name}: {events} events ({path.stat().st_size / 1e6:.0f} MB) in {elapsed:.1f} s")
    return path, events, elapsed


def sqlite_url(name: str) -> str:
    return f"sqlite://{WORK / (name + '.db')}"  # WORK is absolute: sqlite:///abs/path.db


def create_workspace(url: str, workspace: str = "bench") -> dict:
    proc = run([BIN, "--database-url", url, "workspace", "create", workspace, "--json"])
    key = json.loads(proc.stdout)
    if key.get("workspace") != workspace or not key.get("token") or not key.get("secret"):
        raise StepError(f"unexpected `workspace create` output: {proc.stdout!r}")
    return key


IMPORT_LINE = re.compile(
    r"Imported (\d+) events into `[^`]+`: (\d+) new, (\d+) duplicates, in ([\d.]+) s \((\d+) events/s\)"
)


def import_file(url: str, path: Path, workspace: str = "bench") -> dict:
    proc, wall, rss_kb = run([BIN, "--database-url", url, "import", "--workspace", workspace, path], timed=True)
    found = IMPORT_LINE.search(proc.stdout + proc.stderr)
    if not found:
        raise StepError(f"`import` printed no summary line:\n{proc.stdout}{proc.stderr}")
    events, new, duplicates, seconds, rate = found.groups()
    return {"events": int(events), "new": int(new), "duplicates": int(duplicates), "tool_seconds": float(seconds),
            "tool_rate": int(rate), "wall": wall, "rss_mb": rss_kb / 1024}


class Postgres:
    """Fresh databases on the PostgreSQL server, dropped at the end."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")  # postgres://postgres@127.0.0.1:5432
        self.admin = os.environ.get("BENCH_POSTGRES_ADMIN_URL", self.base + "/test")
        self.created = []

    def psql(self, sql: str) -> None:
        run(["psql", self.admin, "-v", "ON_ERROR_STOP=1", "-qc", sql])

    def fresh(self, name: str) -> str:
        db = f"reportstats_bench_{name}_{os.getpid()}"
        self.psql(f'DROP DATABASE IF EXISTS "{db}"')
        self.psql(f'CREATE DATABASE "{db}"')
        self.created.append(db)
        return f"{self.base}/{db}"

    def drop_all(self) -> None:
        for db in self.created:
            try:
                self.psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            except StepError as error:
                log(f"could not drop {db}: {error}")


# --------------------------------------------------------------------------
# HTTP client


class Client:
    def __init__(self, port: int, key: dict):
        self.port = port
        self.workspace = key["workspace"]
        credentials = base64.b64encode(f"{key['token']}:{key['secret']}".encode()).decode()
        self.authorization = f"Basic {credentials}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Authorization": self.authorization, "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise StepError(f"{method} {path} answered {response.status}: {data[:500]!r}")
        return data

    def stats_path(self, page: int, per_page: int = 1000, include_all: bool = False) -> str:
        path = f"/batch/{self.workspace}/report_stats?page={page}&per_page={per_page}"
        return path + ("&include_spaces=all" if include_all else "")

    def page(self, page: int, per_page: int = 1000, include_all: bool = False) -> dict:
        return json.loads(self.request("GET", self.stats_path(page, per_page, include_all)))

    def all_rows(self, include_all: bool) -> list[dict]:
        rows, page = [], 1
        while True:
            body = self.page(page, 1000, include_all)
            p = body["pagination"]
            if p["count"] != len(body["report_stats"]):
                raise StepError(f"page {page}: count {p['count']} but {len(body['report_stats'])} rows")
            rows.extend(body["report_stats"])
            if page >= p["total_pages"]:
                if len(rows) != p["total_count"]:
                    raise StepError(f"{len(rows)} rows over {page} pages but total_count {p['total_count']}")
                return rows
            page += 1

    def close(self):
        self.conn.close()


FIELDS = ["report_id", "report_token", "active_schedules_count", "explorations_count", "total_views_count",
          "view_count", "recent_manual_run_creators_emails", "scheduled_run_creators_emails", "editors_emails"]


def compare(ours: list[dict], reference: list[dict], label: str) -> str:
    """Row-by-row equality; raises with the first differences."""
    problems = []
    if [r["report_id"] for r in ours] != sorted(r["report_id"] for r in ours):
        problems.append("our rows are not ordered by report_id")
    ours_by_id = {r["report_id"]: r for r in ours}
    ref_by_id = {r["report_id"]: r for r in reference}
    for rid in sorted(set(ref_by_id) - set(ours_by_id))[:5]:
        problems.append(f"report {rid} missing from ours")
    for rid in sorted(set(ours_by_id) - set(ref_by_id))[:5]:
        problems.append(f"report {rid} served by us but not in DuckDB's result")
    differing = 0
    for rid in sorted(set(ours_by_id) & set(ref_by_id)):
        a, b = ours_by_id[rid], ref_by_id[rid]
        if set(a) != set(FIELDS):
            problems.append(f"report {rid}: fields {sorted(a)}")
        diffs = [f for f in FIELDS if a.get(f) != b.get(f)]
        if diffs:
            differing += 1
            if differing <= 5:
                problems.append(f"report {rid}: " + "; ".join(f"{f} ours={a.get(f)!r} duckdb={b.get(f)!r}" for f in diffs))
    if len(ours) != len(reference) or problems:
        raise StepError(f"{label}: ours {len(ours)} rows, DuckDB {len(reference)} rows, {differing} rows differ:\n  "
                        + "\n  ".join(problems))
    return f"{len(ours):,} rows identical"


# --------------------------------------------------------------------------
# wrk


def parse_duration_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, authorization: str, seconds: int, connections: int = 16) -> dict:
    threads = min(connections, os.cpu_count() or 2)
    proc = run(["wrk", "-t", threads, "-c", connections, "-d", f"{seconds}s", "--latency", "--timeout", "10s",
                "-s", BENCH / "report_stats.lua", url],
               env={**os.environ, "BENCH_AUTHORIZATION": authorization})
    out = proc.stdout
    result = {"raw": out, "threads": threads, "connections": connections}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    for pct in ("50", "75", "90", "99"):
        result[f"p{pct}_ms"] = parse_duration_ms(re.search(rf"^\s+{pct}(?:\.0+)?%\s+(\S+)", out, re.M).group(1))
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1) if errors else ""
    if result["non2xx"] or result["requests"] == 0:
        raise StepError(f"wrk against {url}: {result['non2xx']} non-2xx answers\n{out}")
    return result


# --------------------------------------------------------------------------
# the parts


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
    ref_file = WORK / "duckdb_stats.json"
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


def part_serving(cfg, rows, serving_db):
    url, key, reports = serving_db
    details = {}
    with serve(url, "serving") as port:
        client = Client(port, key)
        path = client.stats_path(1, 1000)
        started = time.perf_counter()
        body = client.request("GET", path)
        details["first_request_ms"] = (time.perf_counter() - started) * 1000
        client.close()
        page = json.loads(body)
        details["total_count"] = page["pagination"]["total_count"]
        details["body_bytes"] = len(body)
        log(f"serving: page 1 is {len(body):,} bytes; total_count {page['pagination']['total_count']:,}")
        seconds = cfg["wrk_seconds"]
        log(f"wrk {seconds} s against reportstats ...")
        ours = run_wrk(f"http://127.0.0.1:{port}{path}", client.authorization, seconds)
        log(f"  {ours['rps']:.0f} req/s, p50 {ours['p50_ms']:.2f} ms, p99 {ours['p99_ms']:.2f} ms")
    # reportstats is stopped (nothing it still had queued competes for the
    # CPU) before nginx starts with the same bytes.
    with nginx(body) as nginx_port:
        check = http.client.HTTPConnection("127.0.0.1", nginx_port)
        check.request("GET", path)
        static = check.getresponse().read()
        check.close()
        if static != body:
            raise StepError("nginx does not serve the same bytes")
        log(f"wrk {seconds} s against nginx ...")
        theirs = run_wrk(f"http://127.0.0.1:{nginx_port}{path}", client.authorization, seconds)
        log(f"  {theirs['rps']:.0f} req/s, p50 {theirs['p50_ms']:.2f} ms, p99 {theirs['p99_ms']:.2f} ms")
    details.update(reportstats=ours, nginx=theirs)
    (WORK / "wrk-reportstats.txt").write_text(ours["raw"])
    (WORK / "wrk-nginx.txt").write_text(theirs["raw"])
    share = ours["rps"] / theirs["rps"]
    what = f"{reports:,} reports, {len(body) / 1024:.0f} KiB page, {ours['connections']} conns, {seconds} s"
    rows.append(("2 serving", f"reportstats GET report_stats?per_page=1000 ({what})",
                 f"{ours['rps']:,.0f} req/s; p50 {ours['p50_ms']:.2f} ms; p99 {ours['p99_ms']:.2f} ms "
                 f"(one request before the load: {details['first_request_ms']:.1f} ms)",
                 "p99 ≤ 10 ms", verdict(ours["p99_ms"] <= 10)))
    rows.append(("2 serving", "nginx, same bytes as a static file, same wrk",
                 f"{theirs['rps']:,.0f} req/s; p50 {theirs['p50_ms']:.2f} ms; p99 {theirs['p99_ms']:.2f} ms", "—", "—"))
    rows.append(("2 serving", "throughput reportstats / nginx", f"{share:.1%}", "≥ 50%", verdict(share >= 0.5)))
    return details


def page_latency(url, key, name, requests) -> dict:
    """Median latency of the first and the last page (per_page=1000), two ways:

    repeated   the same request again and again (after two warm-ups): what a
               client paging through an unchanged workspace sees; reportstats
               may answer these from its page cache.
    after write each request preceded (untimed) by a one-event batch, so
               whatever was cached for the workspace is stale: the cost of
               computing the page, as on a workspace receiving events.
    after create
               each request preceded by a batch creating a report, which
               moves every page boundary: the cost of the first deep page
               after the listing changed (fewer requests: it is the slow case).
    """
    with serve(url, name) as port:
        client, writer = Client(port, key), Client(port, key)
        first = client.page(1)
        total_pages = first["pagination"]["total_pages"]
        total = first["pagination"]["total_count"]
        report_id = first["report_stats"][0]["report_id"]
        result = {"total_count": total, "total_pages": total_pages}
        writes = 0

        def invalidate(create=False):
            nonlocal writes
            writes += 1
            event = {"id": f"bench-invalidate-{os.getpid()}-{time.time_ns()}-{writes}", "type": "report_viewed",
                     "occurred_at": FRESH_AT, "report_id": report_id}
            if create:
                new_id = 10**12 + time.time_ns() % 10**9 * 100 + writes
                event.update(type="report_created", report_id=new_id, report_token=f"bench{new_id}",
                             space_token="bench-space", email="bench@bench.example", name="Bench")
            answer = json.loads(writer.request("POST", f"/api/{key['workspace']}/events",
                                               json.dumps(event).encode() + b"\n", "application/x-ndjson"))
            if answer != {"accepted": 1, "duplicates": 0}:
                raise StepError(f"unexpected answer to a one-event batch: {answer}")

        for mode, warmups in (("repeated", 2), ("after_write", 0), ("after_create", 0)):
            result[mode] = {}
            for label, page in (("first", 1), ("last", total_pages)):
                samples = []
                for i in range(requests + warmups if mode != "after_create" else max(3, requests // 4)):
                    if mode != "repeated":
                        invalidate(create=mode == "after_create")
                    started = time.perf_counter()
                    body = client.request("GET", client.stats_path(page))
                    elapsed = (time.perf_counter() - started) * 1000
                    if i >= warmups:
                        samples.append(elapsed)
                rows_on_page = len(json.loads(body)["report_stats"])
                if rows_on_page == 0:
                    raise StepError(f"{name}: page {page} of {total_pages} is empty")
                result[mode][label] = {"page": page, "median_ms": statistics.median(samples),
                                       "min_ms": min(samples), "max_ms": max(samples), "rows": rows_on_page}
            log(f"  {name} ({total:,} reports listed), {mode}: first page "
                f"{result[mode]['first']['median_ms']:.2f} ms, last (page {total_pages}) "
                f"{result[mode]['last']['median_ms']:.2f} ms")
        client.close()
        writer.close()
    return result


def part_scale(cfg, rows, serving_db):
    details = {"latency": {}}
    requests = cfg["latency_requests"]

    # The 10M-event stream, split into equal files imported one after the
    # other into one database: `import` prints only a summary, so the rate
    # of the first file is the start of the import and the last file's its end.
    path, events, _ = generate("big", cfg["big"])
    parts = cfg["big_files"]
    pieces_dir = WORK / "big-parts"
    pieces_dir.mkdir()
    run(["split", "-l", -(-events // parts), "-d", "-a", "2", path, f"{pieces_dir}/part-"])
    path.unlink()
    os.sync()
    pieces = sorted(pieces_dir.iterdir())
    url = sqlite_url("big")
    key = create_workspace(url)
    imports = []
    for i, piece in enumerate(pieces, 1):
        result = import_file(url, piece)
        result["file"] = piece.name
        db_file = WORK / "big.db"
        wal = Path(str(db_file) + "-wal")
        result["db_mb"] = db_file.stat().st_size / 2**20
        result["wal_mb"] = wal.stat().st_size / 2**20 if wal.exists() else 0.0
        imports.append(result)
        log(f"  big import {i}/{len(pieces)}: {result['events']:,} events, {result['tool_rate']:,} ev/s (tool), "
            f"wall {result['wall']:.2f} s, RSS {result['rss_mb']:.0f} MB; db {result['db_mb']:,.0f} MB, "
            f"WAL {result['wal_mb']:,.0f} MB")
        piece.unlink()
    details["big_import"] = imports
    first, last = imports[0], imports[-1]
    kept = last["tool_rate"] / first["tool_rate"]

    latency_dbs = [
        (f"{cfg['small']['reports']:,}", "small", cfg["small"]),
    ]
    small_path, _, _ = generate("small", cfg["small"])
    small_url = sqlite_url("small")
    small_key = create_workspace(small_url)
    import_file(small_url, small_path)
    log("page latency ...")
    for label, url_, key_ in ((latency_dbs[0][0], small_url, small_key),
                              (f"{serving_db[2]:,}", serving_db[0], serving_db[1]),
                              (f"{cfg['big']['reports']:,}", url, key)):
        details["latency"][label] = page_latency(url_, key_, f"latency-{label.replace(',', '')}", requests)

    for label, result in details["latency"].items():
        is_big = label == f"{cfg['big']['reports']:,}"
        for mode, how in (("repeated", "same request repeated"),
                          ("after_write", "each request after a 1-event batch"),
                          ("after_create", "each request after a batch creating a report")):
            f, l = result[mode]["first"], result[mode]["last"]
            ratio = l["median_ms"] / f["median_ms"]
            samples = requests if mode != "after_create" else max(3, requests // 4)
            rows.append(("3 scale", f"page latency, {label} reports created ({result['total_count']:,} listed, "
                                    f"{result['total_pages']} page{'s' if result['total_pages'] != 1 else ''}), median of {samples}, {how}",
                         f"first {f['median_ms']:.2f} ms; last {l['median_ms']:.2f} ms ({ratio:.2f}×)",
                         "last ≤ 2× first" if is_big else "—", verdict(ratio <= 2) if is_big else "—"))
    total_events = sum(r["events"] for r in imports)
    rows.append(("3 scale", f"`import` {count(total_events)} events as {len(imports)} files into one SQLite db",
                 f"file 1: {first['tool_rate']:,} ev/s; file {len(imports)}: {last['tool_rate']:,} ev/s ({kept:.0%}); "
                 f"peak RSS {max(r['rss_mb'] for r in imports):.0f} MB; after the last file: db "
                 f"{last['db_mb']:,.0f} MB, WAL file {last['wal_mb']:,.0f} MB",
                 "end ≥ 80% of start", verdict(kept >= 0.8)))
    return details


def part_freshness(cfg, rows, backends):
    details = {}
    for backend, (url, key) in backends:
        with serve(url, f"fresh-{backend.lower()}") as port:
            writer, reader = Client(port, key), Client(port, key)
            top = reader.page(1, per_page=1)["report_stats"][0]
            report_id, views = top["report_id"], top["total_views_count"]
            trials = []
            for trial in range(cfg["fresh_trials"]):
                tag = f"{os.getpid()}-{time.time_ns()}-{trial}"
                email = f"fresh-{tag}@bench.example"
                lines = [json.dumps({"id": f"fresh-{tag}-view-{j}", "type": "report_viewed", "occurred_at": FRESH_AT,
                                     "report_id": report_id, "email": "reader@bench.example"})
                         for j in range(cfg["fresh_views"])]
                lines.append(json.dumps({"id": f"fresh-{tag}-run", "type": "report_run", "occurred_at": FRESH_AT,
                                         "report_id": report_id, "run_token": f"run-{tag}", "trigger": "manual",
                                         "email": email}))
                views += cfg["fresh_views"]
                body = ("\n".join(lines) + "\n").encode()
                answer = json.loads(writer.request("POST", f"/api/{key['workspace']}/events", body,
                                                   "application/x-ndjson"))
                acked = time.perf_counter()
                if answer != {"accepted": len(lines), "duplicates": 0}:
                    raise StepError(f"unexpected answer to a fresh batch: {answer}")
                polls = 0
                while True:
                    polls += 1
                    row = reader.page(1, per_page=1)["report_stats"][0]
                    if (row["report_id"] == report_id and row["total_views_count"] == views
                            and email in row["recent_manual_run_creators_emails"]):
                        break
                    if time.perf_counter() - acked > 30:
                        raise StepError(f"{backend}: a batch acknowledged 30 s ago is still not visible: {row}")
                trials.append({"polls": polls, "delay_ms": (time.perf_counter() - acked) * 1000})
            writer.close()
            reader.close()
        details[backend] = trials
        max_polls = max(t["polls"] for t in trials)
        delays = [t["delay_ms"] for t in trials]
        log(f"  freshness {backend}: polls {[t['polls'] for t in trials]}")
        rows.append(("4 freshness", f"{backend}: POST {cfg['fresh_views'] + 1} events → visible in report_stats "
                                    f"({len(trials)} batches)",
                     f"polls needed: max {max_polls} (all {'1' if max_polls == 1 else 'see details'}); "
                     f"ack → visible median {statistics.median(delays):.2f} ms, max {max(delays):.2f} ms",
                     "visible to the very next request", verdict(max_polls == 1)))
    return details


def count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n:,}"


def verdict(holds: bool) -> str:
    return "holds" if holds else "does not hold"


# --------------------------------------------------------------------------


def describe_binary(path: Path) -> str:
    """The build under test: its mtime and the checkout it most likely came from."""
    built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(path.stat().st_mtime))
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml",
                                "Cargo.lock"], capture_output=True, text=True, check=True).stdout.split("\n")
        dirty = [line for line in dirty if line.strip()]
        state = f"{head}" + (f" + {len(dirty)} uncommitted file(s) in src/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        state = "unknown checkout"
    return f"target/release/reportstats built {built}, checkout {state}"


def table(rows) -> str:
    header = ("part", "measurement", "result", "target", "verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="reportstats benchmarks (run through bench/run)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, well under a minute")
    parser.add_argument("--keep", action="store_true", help="keep target/bench/<mode>/ (data, logs) afterwards")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL import")
    parser.add_argument("--parts", default="ingest,serving,scale,freshness",
                        help="comma-separated subset of ingest,serving,scale,freshness")
    args = parser.parse_args()
    cfg = SMOKE if args.smoke else FULL
    mode = "smoke" if args.smoke else "full"
    parts = set(args.parts.split(","))

    rows, details, durations, failures = [], {"mode": mode}, {}, []
    global WORK
    WORK = ROOT / "target" / "bench" / mode
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    global BIN
    if not BIN.exists():
        raise SystemExit(f"{BIN} is missing: run `cargo build --release` (bench/run does)")
    # A private copy: a rebuild in the shared target/ during the run must not
    # swap the binary under the benchmark (databases made by one build).
    (WORK / "bin").mkdir()
    shutil.copy2(BIN, WORK / "bin" / "reportstats")
    details["binary"] = describe_binary(BIN)
    log(f"benchmarking {details['binary']}")
    BIN = WORK / "bin" / "reportstats"

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
        if parts & {"serving", "scale"} or ("freshness" in parts and not ingest):
            def prepare_serving():
                path, _, _ = generate("serving", cfg["serving"])
                url = sqlite_url("serving")
                key = create_workspace(url)
                imported = import_file(url, path)
                log(f"  serving workspace imported: {imported}")
                return (url, key, cfg["serving"]["reports"])
            serving_db = part("prepare", prepare_serving, always=True)
        if serving_db:
            for name, fn in (("serving", part_serving), ("scale", part_scale)):
                if name in parts:
                    details[name] = part(name, fn, cfg, rows, serving_db)

        backends = []
        if ingest:
            backends.append(("SQLite", ingest["sqlite"]))
            if ingest["postgres"]:
                backends.append(("PostgreSQL", ingest["postgres"]))
        elif "freshness" in parts and serving_db:
            backends.append(("SQLite", serving_db[:2]))
        if backends:
            details["freshness"] = part("freshness", part_freshness, cfg, rows, backends)
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
        shutil.rmtree(WORK, ignore_errors=True)
    if failures:
        log(f"FAILED parts: {', '.join(failures)}")
        return 1
    return 0


WORK = ROOT / "target" / "bench"

if __name__ == "__main__":
    sys.exit(main())
