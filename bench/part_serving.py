"""Part 2, serving: wrk against one page of report_stats (per_page=1000) of a
large workspace, and against nginx serving the same bytes as a static file.
"""

import http.client
import json
import time

from harness import Client, StepError, log, nginx, paths, run_wrk, serve
from reporting import verdict


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
    (paths.work / "wrk-reportstats.txt").write_text(ours["raw"])
    (paths.work / "wrk-nginx.txt").write_text(theirs["raw"])
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
