"""Part 5, catalog: the other Discovery listings against report_stats, on the
100,000-report serving workspace (with its queries and charts: about two of
each per report), on SQLite and, when the run has PostgreSQL, on a copy
imported into it. Two full pages of 1000 rows each, the first and the middle
one (a deep page for the longer listings: it starts from remembered
positions), so that every listing is compared on pages of the same size;
each computed (the request after a one-event batch, so no cached page is
current) and cached (the same request repeated). The target: a page of
/queries or /members within 2x the time of a report_stats page of the same
size.
"""

import json
import os
import statistics
import time

from harness import FRESH_AT, Client, StepError, log, serve
from reporting import verdict

# Spaces are too few for full pages; their cost is in part 3's tests' range.
RESOURCES = ("report_stats", "queries", "charts", "members", "reports")


def part_catalog(cfg, rows, serving_db, backend="SQLite"):
    url, key, reports = serving_db
    requests = cfg["latency_requests"]
    per_page = cfg["catalog_per_page"]
    details = {}
    with serve(url, f"catalog-{backend.lower()}") as port:
        client, writer = Client(port, key), Client(port, key)
        workspace = key["workspace"]
        some_report = json.loads(client.request("GET", client.stats_path(1, 1)))["report_stats"][0]["report_id"]
        writes = 0

        def invalidate():
            nonlocal writes
            writes += 1
            event = {"id": f"catalog-{os.getpid()}-{time.time_ns()}-{writes}", "type": "report_viewed",
                     "occurred_at": FRESH_AT, "report_id": some_report}
            writer.post_one(event)

        def change_catalog():
            nonlocal writes
            writes += 1
            token = f"catalog-{os.getpid()}-{time.time_ns()}-{writes}"
            event = {"id": token, "type": "query_created", "occurred_at": FRESH_AT, "query_token": token,
                     "report_id": some_report, "name": "Bench", "raw_query": "select 1",
                     "data_source_token": "bench", "email": "bench@bench.example"}
            writer.post_one(event)

        for resource in RESOURCES:
            path = f"/batch/{workspace}/{resource}?per_page={per_page}"
            first = json.loads(client.request("GET", path))
            total_pages = first["pagination"]["total_pages"]
            result = {"total_count": first["pagination"]["total_count"], "total_pages": total_pages}
            if result["total_count"] < 2 * per_page:
                raise StepError(f"{resource}: {result['total_count']} listed, too few for two full pages of {per_page}")
            for mode in ("computed", "cached"):
                result[mode] = {}
                for label, page in (("first", 1), ("middle", max(1, total_pages // 2))):
                    samples = []
                    for i in range(requests + (2 if mode == "cached" else 0)):
                        if mode == "computed":
                            invalidate()
                        started = time.perf_counter()
                        client.request("GET", f"{path}&page={page}")
                        elapsed = (time.perf_counter() - started) * 1000
                        if mode == "computed" or i >= 2:
                            samples.append(elapsed)
                    result[mode][label] = statistics.median(samples)
            if resource in ("queries", "charts"):
                # The first page after a batch that moves the listing walks
                # all of it once (its count and positions).
                samples = []
                for _ in range(5):
                    change_catalog()
                    started = time.perf_counter()
                    client.request("GET", f"{path}&page=1")
                    samples.append((time.perf_counter() - started) * 1000)
                result["after_catalog_change"] = statistics.median(samples)
            details[resource] = result
            log(f"  {backend} {resource} ({result['total_count']:,} rows, {total_pages} pages): computed first "
                f"{result['computed']['first']:.2f} ms, middle {result['computed']['middle']:.2f} ms; cached first "
                f"{result['cached']['first']:.2f} ms, middle {result['cached']['middle']:.2f} ms")
        client.close()
        writer.close()

    for resource in ("queries", "charts"):
        result = details[resource]
        rows.append(("5 catalog", f"{backend}: /{resource} first page after a batch creating a query (the walk of "
                                  f"{result['total_count']:,} listed), median of 5",
                     f"{result['after_catalog_change']:.1f} ms", "—", "—"))
    base = details["report_stats"]
    for resource in RESOURCES[1:]:
        result = details[resource]
        for mode in ("computed", "cached"):
            ratios = {label: result[mode][label] / base[mode][label] for label in ("first", "middle")}
            worst = max(ratios.values())
            targeted = resource in ("queries", "members")
            rows.append(("5 catalog",
                         f"{backend}: /{resource} page vs report_stats page, {reports:,} reports ({result['total_count']:,} "
                         f"{resource} listed), per_page={per_page}, {mode}, median of {requests}",
                         f"first {result[mode]['first']:.2f} vs {base[mode]['first']:.2f} ms ({ratios['first']:.2f}×); "
                         f"middle {result[mode]['middle']:.2f} vs {base[mode]['middle']:.2f} ms ({ratios['middle']:.2f}×)",
                         "≤ 2× report_stats" if targeted else "—",
                         verdict(worst <= 2) if targeted else "—"))
    return details
