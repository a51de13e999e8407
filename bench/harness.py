"""The shared harness of the benchmark parts: sizes and fixed instants, the
run's paths, running commands and servers (`reportstats serve`, nginx), the
reportstats commands (`generate`, `workspace create`, `import`), fresh
PostgreSQL databases, the HTTP client with the DuckDB comparison, and wrk.
"""

import base64
import datetime
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
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
    "catalog_per_page": 1000,
    "fresh_trials": 20,
    "fresh_views": 100,
    "flood_batch": 100_000,
}
SMOKE = {
    "ingest": dict(reports=300, members=100, views=15_000, days=180),
    "serving": dict(reports=2_000, members=200, views=5_000, days=30),
    "small": dict(reports=500, members=100, views=1_000, days=30),
    "big": dict(reports=3_000, members=200, views=6_000, days=30),
    "big_files": 10,
    "wrk_seconds": 2,
    "latency_requests": 5,
    "catalog_per_page": 50,
    "fresh_trials": 5,
    "fresh_views": 10,
    "flood_batch": 1_000,
}
SEED = 20_250_601
DUPLICATE_FRACTION = 0.01


class Paths:
    """Where the run keeps its files and which reportstats binary it runs.

    One shared object rather than module globals: main() (in bench.py) points
    `work` at target/bench/<mode>/ and, once it has copied the build there,
    `binary` at that copy, and every module reads them from here.
    """

    def __init__(self) -> None:
        self.work = ROOT / "target" / "bench"
        # BENCH_BINARY measures another build (say, the one before a change)
        # with this checkout's parts.
        self.binary = Path(os.environ.get("BENCH_BINARY", ROOT / "target" / "release" / "reportstats"))


paths = Paths()


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
    tfile = paths.work / "time.out"
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


# The process id of each server `serve` runs, by port: what a part reads
# the server's memory from (/proc/PID/status).
served_pids: dict[int, int] = {}


def memory_mb(port: int) -> dict:
    """The server on `port`'s memory now: `anon` its own (heap, stacks),
    `file` the pages of files it maps (SQLite's readers map the database,
    pages the kernel can drop at any time), and `peak` its peak resident
    memory so far, both kinds together (VmHWM)."""
    status = Path(f"/proc/{served_pids[port]}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    mb = lambda name: int(fields[name].split()[0]) / 1024  # noqa: E731
    return {"anon": mb("RssAnon"), "file": mb("RssFile"), "peak": mb("VmHWM")}


@contextmanager
def serve(url: str, name: str):
    """`reportstats serve` on a free loopback port, clock frozen at AS_OF."""
    port = free_port()
    logfile = open(paths.work / f"serve-{name}.log", "w")
    proc = subprocess.Popen(
        [paths.binary, "--database-url", url, "serve", "--listen", f"127.0.0.1:{port}",
         "--frozen-clock", AS_OF, "--rate-limit-per-minute", "0", "--event-rate-limit-per-minute", "0", "--recent-days", str(RECENT_DAYS)],
        stdout=logfile, stderr=subprocess.STDOUT,
    )
    try:
        wait_http(port, "/healthz", proc, f"reportstats serve ({name})")
        served_pids[port] = proc.pid
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


def windows_to_move(url: str) -> int:
    """How many workspaces of the database have usage windows that do not
    end on AS_OF's date."""
    day = (datetime.date.fromisoformat(AS_OF[:10]) - datetime.date(1970, 1, 1)).days
    sql = f"SELECT count(*) FROM workspaces WHERE windows_day <> {day}"
    if url.startswith("sqlite://"):
        connection = sqlite3.connect(f"file:{url[len('sqlite://'):]}?mode=ro", uri=True)
        try:
            return connection.execute(sql).fetchone()[0]
        finally:
            connection.close()
    return int(subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True, check=True).stdout)


def move_windows(url: str, name: str, timeout=600.0) -> float:
    """Serves a database until the server has moved its usage windows to
    AS_OF's date (an import leaves them to compute, and a server computes
    them in its first minute), so that a part measures the kept windows a
    running server reads, not the first minute's computed ones; returns the
    seconds it took (0 if they were moved already)."""
    if windows_to_move(url) == 0:
        return 0.0
    started = time.monotonic()
    with serve(url, f"{name}-windows"):
        while windows_to_move(url) > 0:
            if time.monotonic() - started > timeout:
                raise StepError(f"the server did not move the usage windows of {name} in {timeout:.0f} s")
            time.sleep(0.2)
    return time.monotonic() - started


@contextmanager
def nginx(body: bytes):
    prefix = paths.work / "nginx"
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
    path = paths.work / f"{name}.ndjson"
    started = time.perf_counter()
    proc = run([paths.binary, "generate", "--reports", sizes["reports"], "--members", sizes["members"],
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
    return f"sqlite://{paths.work / (name + '.db')}"  # paths.work is absolute: sqlite:///abs/path.db


def create_workspace(url: str, workspace: str = "bench") -> dict:
    proc = run([paths.binary, "--database-url", url, "workspace", "create", workspace, "--json"])
    key = json.loads(proc.stdout)
    if key.get("workspace") != workspace or not key.get("token") or not key.get("secret"):
        raise StepError(f"unexpected `workspace create` output: {proc.stdout!r}")
    return key


IMPORT_LINE = re.compile(
    r"Imported (\d+) events into `[^`]+`: (\d+) new, (\d+) duplicates, in ([\d.]+) s \((\d+) events/s\)"
)


def import_file(url: str, path: Path, workspace: str = "bench") -> dict:
    proc, wall, rss_kb = run([paths.binary, "--database-url", url, "import", "--workspace", workspace, path],
                             timed=True)
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

    def settle(self, url: str) -> None:
        """`VACUUM ANALYZE` a database after an import: what autovacuum does
        on any default deployment, and this machine's cluster runs with
        autovacuum off. Without it the planner has no statistics and no
        visibility map, and every count reads the whole heap (BENCHMARKS.md,
        part 5)."""
        run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", "VACUUM ANALYZE"])

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

    def post_one(self, event: dict) -> None:
        """Stores one event (a one-event batch), which must be new."""
        body = json.dumps(event).encode() + b"\n"
        answer = json.loads(self.request("POST", f"/api/{self.workspace}/events", body, "application/x-ndjson"))
        if answer != {"accepted": 1, "duplicates": 0}:
            raise StepError(f"unexpected answer to a one-event batch: {answer}")

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


def run_wrk(url: str, authorization: str, seconds: int, connections: int = 16, script: str = "report_stats.lua",
            env: dict | None = None, threads: int | None = None) -> dict:
    """wrk for `seconds` with `script` (its settings in `env`); its
    throughput and latency percentiles."""
    return wrk_result(start_wrk(url, authorization, seconds, connections, script, env, threads))


def start_wrk(url: str, authorization: str, seconds: int, connections: int = 16, script: str = "report_stats.lua",
              env: dict | None = None, threads: int | None = None) -> tuple:
    """wrk started in the background (several can run at once); its result
    from `wrk_result`."""
    threads = threads or min(connections, os.cpu_count() or 2)
    proc = subprocess.Popen(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "10s",
         "-s", str(BENCH / script), url],
        env={**os.environ, "BENCH_AUTHORIZATION": authorization, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, url, threads, connections


def wrk_result(started: tuple, allow_none: bool = False) -> dict:
    """What a wrk run printed. A run with no answered request is an error,
    unless `allow_none` (a load whose every request outlasts the run)."""
    proc, url, threads, connections = started
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise StepError(f"wrk against {url} failed ({proc.returncode}):\n{out}{err}")
    result = {"raw": out, "threads": threads, "connections": connections}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    for pct in ("50", "75", "90", "99"):
        result[f"p{pct}_ms"] = parse_duration_ms(re.search(rf"^\s+{pct}(?:\.0+)?%\s+(\S+)", out, re.M).group(1))
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1) if errors else ""
    if result["non2xx"] or (result["requests"] == 0 and not allow_none):
        raise StepError(f"wrk against {url}: {result['non2xx']} non-2xx answers\n{out}")
    return result
