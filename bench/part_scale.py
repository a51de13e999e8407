"""Part 3, scale: first/last page latency at three workspace sizes, and the
ingest rate at the start and the end of a large import split into files.
"""

import json
import os
import statistics
import threading
import time
from pathlib import Path

from harness import (FRESH_AT, Client, StepError, create_workspace, generate, import_file, log, memory_mb,
                     move_windows, paths, run, serve, sqlite_url)
from part_dashboard import overview_at_scale
from reporting import count, verdict


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
                # Above every id the workspace has, and above the last one
                # made here (microseconds since the epoch only grow; below
                # 2^53, which JSON readers hold exactly), as new
                # reports' ids are: the listing grows at its end. (The
                # sub-second part of the clock, used before, put most new
                # reports in the middle of the earlier ones, and so moved
                # every page after them.)
                new_id = 4 * 10**15 + time.time_ns() // 1000
                event.update(type="report_created", report_id=new_id, report_token=f"bench{new_id}",
                             space_token="bench-space", email="bench@bench.example", name="Bench")
            writer.post_one(event)

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


#: The orders the whole `report_usage` listing is exported in: by report
#: (the default) and down the index of a kept window count.
EXPORT_ORDERS = ("report_id", "-views_30d")


def export_csv(client, port, sort) -> dict:
    """The whole `report_usage` listing as CSV in `sort`, streamed to
    nowhere: its time, its lines, and the server's memory of its own
    (sampled every 50 ms: the peak over the export, against before it) and
    of the database file it maps (which grows with what is read, and which
    the kernel can drop)."""
    before = memory_mb(port)
    result = {"anon_before_mb": before["anon"]}
    peaks = {"anon": before["anon"], "file": before["file"]}
    sampling = threading.Event()

    def sample():
        while not sampling.wait(0.05):
            now = memory_mb(port)
            for kind in peaks:
                peaks[kind] = max(peaks[kind], now[kind])

    sampler = threading.Thread(target=sample)
    sampler.start()
    conn = client.conn
    started = time.perf_counter()
    conn.request("GET", f"/batch/{client.workspace}/report_usage?format=csv&sort={sort}",
                 headers={"Authorization": client.authorization})
    response = conn.getresponse()
    if response.status != 200:
        raise StepError(f"the CSV export answered {response.status}")
    lines = size = 0
    while chunk := response.read(1 << 20):
        lines += chunk.count(b"\n")
        size += len(chunk)
    result["s"] = time.perf_counter() - started
    sampling.set()
    sampler.join()
    result["rows"] = lines - 1
    result["mb"] = size / 2**20
    result["anon_peak_mb"] = peaks["anon"]
    result["file_peak_mb"] = peaks["file"]
    return result


def usage_at_scale(url, key, name, requests) -> dict:
    """`report_usage` on one workspace once a server has moved its windows:
    a page of 100 sorted by `-views_30d`, each request after a one-event
    batch (median), then the whole listing as CSV in each of
    [`EXPORT_ORDERS`] ([`export_csv`])."""
    result = {"windows_moved_s": move_windows(url, name)}
    with serve(url, name) as port:
        client, writer = Client(port, key), Client(port, key)
        first = json.loads(client.request("GET", f"/batch/{client.workspace}/report_usage?per_page=1"))
        report_id = first["report_usage"][0]["report_id"]
        path = f"/batch/{client.workspace}/report_usage?sort=-views_30d&per_page=100"
        samples = []
        for i in range(requests):
            writer.post_one({"id": f"bench-usage-{os.getpid()}-{time.time_ns()}-{i}", "type": "report_viewed",
                             "occurred_at": FRESH_AT, "report_id": report_id})
            started = time.perf_counter()
            client.request("GET", path)
            samples.append((time.perf_counter() - started) * 1000)
        result["sorted_page_ms"] = statistics.median(samples)
        result["exports"] = {sort: export_csv(client, port, sort) for sort in EXPORT_ORDERS}
        client.close()
        writer.close()
    log(f"  {name}: windows moved in {result['windows_moved_s']:.1f} s; sorted page {result['sorted_page_ms']:.1f} ms")
    for sort, export in result["exports"].items():
        log(f"  {name}: CSV export by {sort} of {export['rows']:,} rows ({export['mb']:.0f} MB) in {export['s']:.1f} s, "
            f"own memory {export['anon_before_mb']:.0f} MB before, peak {export['anon_peak_mb']:.0f} MB "
            f"during (mapped database pages up to {export['file_peak_mb']:.0f} MB)")
    return result


def part_scale(cfg, rows, serving_db):
    details = {"latency": {}}
    requests = cfg["latency_requests"]

    # The 10M-event stream, split into equal files imported one after the
    # other into one database: `import` prints only a summary, so the rate
    # of the first file is the start of the import and the last file's its end.
    path, events, _ = generate("big", cfg["big"])
    parts = cfg["big_files"]
    pieces_dir = paths.work / "big-parts"
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
        db_file = paths.work / "big.db"
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

    details["dashboard_big"] = overview_at_scale(url, key, cfg["big"]["reports"], requests, rows)
    # Usage over time at both sizes, in the same run: whether the sorted
    # page, and the export's time and memory, follow the number of reports.
    details["usage"] = {}
    for label, url_, key_ in ((f"{serving_db[2]:,}", serving_db[0], serving_db[1]),
                              (f"{cfg['big']['reports']:,}", url, key)):
        usage = usage_at_scale(url_, key_, f"usage-{label.replace(',', '')}", requests)
        details["usage"][label] = usage
        rows.append(("3 scale", f"report_usage page of 100 sorted by -views_30d, {label} reports, computed after a "
                                f"1-event batch, median of {requests}", f"{usage['sorted_page_ms']:.1f} ms",
                     "≤ 100 ms at 1,000,000", verdict(usage["sorted_page_ms"] <= 100)))
        for sort, export in usage["exports"].items():
            rows.append(("3 scale", f"report_usage CSV export by {sort}, {label} reports",
                         f"{export['rows']:,} rows, {export['mb']:.0f} MB in {export['s']:.1f} s; "
                         f"server's own memory {export['anon_before_mb']:.0f} MB before, peak "
                         f"{export['anon_peak_mb']:.0f} MB during", "does not grow with rows", ""))
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
