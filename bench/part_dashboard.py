"""Part 7, the dashboard: each page's time on the serving workspace of
part 2 (and on its PostgreSQL copy), and the size of the overview's SVG.

A browser signs in once (`POST /sign-in` with the workspace API key), then
each page is requested `latency_requests` times, each after a one-event
batch, as on a workspace receiving events (the dashboard caches no page):
the median is the page's time, measured at the client on the loopback
interface, so it includes the server's whole work. Part 3 calls
`overview_at_scale` on its 1,000,000-report workspace too.

Targets of the dashboard's issue: every page in 50 ms or less at 100,000
reports; the overview's charts under 200 KB of SVG at 1,000,000 reports.
"""

import http.client
import os
import re
import statistics
import time
import urllib.parse

from harness import FRESH_AT, Client, StepError, log, serve
from reporting import verdict


class Browser:
    """A signed-in session over one keep-alive connection."""

    def __init__(self, port: int, key: dict):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        form = urllib.parse.urlencode({"token": key["token"], "secret": key["secret"]})
        self.conn.request("POST", "/sign-in", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port}",
            "Host": f"127.0.0.1:{port}"})
        response = self.conn.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie") or ""
        if response.status != 303 or "reportstats_session=" not in cookie:
            raise StepError(f"sign-in answered {response.status} without a session")
        self.cookie = cookie.split(";")[0]

    def get(self, path: str) -> bytes:
        self.conn.request("GET", path, headers={"Cookie": self.cookie})
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise StepError(f"GET {path} answered {response.status}: {body[:300]!r}")
        return body

    def close(self):
        self.conn.close()


def svg_bytes(html: bytes) -> int:
    return sum(len(svg) for svg in re.findall(rb"<svg.*?</svg>", html, re.S))


def page_times(port, key, requests) -> dict:
    """Each page's median time (ms), each request after a one-event batch."""
    workspace = key["workspace"]
    browser, writer = Browser(port, key), Client(port, key)
    overview = browser.get(f"/ui/{workspace}/")
    first_report = re.search(rb'href="(/ui/[^"]+/reports/[^"]+)"', overview).group(1).decode()
    report_id = int(re.search(rb'data-report-id="(\d+)"', overview).group(1))
    pages = {
        "overview": f"/ui/{workspace}/",
        "reports": f"/ui/{workspace}/reports",
        "reports sorted by -views_30d": f"/ui/{workspace}/reports?sort=-views_30d",
        "stale reports (unviewed_days=90)": f"/ui/{workspace}/reports?unviewed_days=90&sort=-total_views_count",
        "a report": first_report,
        "members": f"/ui/{workspace}/members",
        "spaces": f"/ui/{workspace}/spaces",
    }
    writes = 0
    result = {"svg_bytes": svg_bytes(overview), "pages": {}}
    for name, path in pages.items():
        samples = []
        for _ in range(requests):
            writes += 1
            writer.post_one({"id": f"dashboard-{os.getpid()}-{time.time_ns()}-{writes}", "type": "report_viewed",
                             "occurred_at": FRESH_AT, "report_id": report_id})
            started = time.perf_counter()
            browser.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        result["pages"][name] = statistics.median(samples)
    browser.close()
    writer.close()
    return result


def part_dashboard(cfg, rows, serving_db, backend="SQLite"):
    url, key, reports = serving_db
    requests = cfg["latency_requests"]
    with serve(url, f"dashboard-{backend.lower()}") as port:
        result = page_times(port, key, requests)
    slowest = max(result["pages"].values())
    log(f"  {backend} dashboard at {reports:,} reports: " +
        "; ".join(f"{name} {ms:.1f} ms" for name, ms in result["pages"].items()) +
        f"; overview SVG {result['svg_bytes']:,} bytes")
    for name, ms in result["pages"].items():
        rows.append(("7 dashboard", f"{backend}: {name} page, {reports:,} reports, median of {requests}, each "
                                    f"after a 1-event batch", f"{ms:.1f} ms", "≤ 50 ms", verdict(ms <= 50)))
    rows.append(("7 dashboard", f"{backend}: the overview's charts, {reports:,} reports",
                 f"{result['svg_bytes'] / 1024:.1f} KB of SVG", "< 200 KB", verdict(result["svg_bytes"] < 200 * 1024)))
    result["slowest_ms"] = slowest
    return result


def overview_at_scale(url, key, reports, requests, rows) -> dict:
    """The overview on part 3's largest workspace: its time and its SVG."""
    with serve(url, "dashboard-big") as port:
        browser, writer = Browser(port, key), Client(port, key)
        workspace = key["workspace"]
        html = browser.get(f"/ui/{workspace}/")
        samples = []
        for i in range(max(3, requests // 4)):
            started = time.perf_counter()
            browser.get(f"/ui/{workspace}/")
            samples.append((time.perf_counter() - started) * 1000)
        browser.close()
        writer.close()
    result = {"svg_bytes": svg_bytes(html), "overview_ms": statistics.median(samples)}
    rows.append(("7 dashboard", f"SQLite: the overview's charts, {reports:,} reports",
                 f"{result['svg_bytes'] / 1024:.1f} KB of SVG (the page in {result['overview_ms']:.0f} ms)",
                 "< 200 KB", verdict(result["svg_bytes"] < 200 * 1024)))
    return result
