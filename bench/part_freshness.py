"""Part 4, freshness: polls needed until an acknowledged batch shows in
report_stats, on each backend.
"""

import json
import os
import statistics
import time

from harness import FRESH_AT, Client, StepError, log, serve
from reporting import verdict


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
