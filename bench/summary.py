#!/usr/bin/env python3
"""bench/summary.py RESULTS.jsonl VAS IDLE RATE BIG: the results table (Markdown).

Reads the RESULT lines that run.sh collected (one JSON object per line,
each tagged with the step that produced it) and prints the table that goes
into bench/README.md, with each target of the issue and whether it was met.
"""
import json
import sys


def load(path):
    runs, notes = {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r["tag"] == "note":
                notes[r["key"]] = r["value"]
            elif r["tag"].startswith("raw"):
                runs[f'{r["tag"]}/{r["batch"]}'] = r
            else:
                runs[r["tag"]] = r
    return runs, notes


def ms(x):
    return f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def main():
    path, vas, idle, rate, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    runs, notes = load(path)
    rows = []

    def row(what, value, target="", status=""):
        rows.append((what, value, target, status))

    http = runs.get("http")
    raws = [runs[k]["ops_per_s"] for k in ("raw_a/1", "raw_b/1") if k in runs]
    if http and raws:
        hops = http["claims_per_s"] + http["submits_per_s"]
        raw = sum(raws) / len(raws)
        ratio = hops / raw if raw else 0
        row(f"HTTP durable claims+submits/s, {vas} annotators, closed loop",
            f'{hops:,.0f}/s ({http["claims_per_s"]:,.0f} claims + {http["submits_per_s"]:,.0f} submits)')
        row("  claim latency p50 / p99 / max",
            f'{ms(http["claim"]["p50_ms"])} / {ms(http["claim"]["p99_ms"])} / {ms(http["claim"]["max_ms"])}')
        row("  submit latency p50 / p99 / max",
            f'{ms(http["submit"]["p50_ms"])} / {ms(http["submit"]["p99_ms"])} / {ms(http["submit"]["max_ms"])}')
        errs = sum(http[a]["http_errors"] + http[a]["transport_errors"] for a in ("claim", "submit") if a in http)
        row("  errors", f"{errs}")
        row("raw SQLite, one claim-or-submit per transaction (FULL)",
            " / ".join(f"{x:,.0f}" for x in raws) + f" ops/s (mean {raw:,.0f})")
        if "raw_b/64" in runs:
            row("raw SQLite, 64 per transaction (reference ceiling)", f'{runs["raw_b/64"]["ops_per_s"]:,.0f} ops/s')
        row("ratio HTTP : raw one-per-transaction", f"{ratio:.2f}x", ">= 3x", verdict(ratio >= 3))
    d = runs.get("http_drafts")
    if d:
        total = sum(d[a]["per_s"] for a in ("claim", "draft", "heartbeat", "submit") if a in d)
        row(f"HTTP with a draft per task, heartbeat every 5th, {vas} annotators",
            f'{total:,.0f} durable writes/s; claim p99 {ms(d["claim"]["p99_ms"])}, draft p99 {ms(d["draft"]["p99_ms"])}')

    for tag, what in (("rate_noidle", "no idle connections"), ("rate_idle", f"{idle:,} idle keep-alive connections open")):
        r = runs.get(tag)
        if not r:
            continue
        c = r["claim"]
        val = f'{r["claims_per_s"]:,.0f} claims/s achieved; claim p50 {ms(c["p50_ms"])}, p99 {ms(c["p99_ms"])}, max {ms(c["max_ms"])}'
        if tag == "rate_idle":
            row(f"claims at {rate:,.0f}/s, {what}", val, "p99 < 50 ms", verdict(c["p99_ms"] < 50))
            i = r.get("idle", {})
            held = i.get("answered", 0) - i.get("closed", 0)
            row("  idle connections held (answered, never closed)", f"{held:,} of {idle:,}", f"{idle:,}",
                verdict(held >= idle))
            rss = r.get("server_rss_kb")
            if rss:
                mb = rss["idle"] / 1024
                per = (rss["idle"] - rss["start"]) / max(held, 1)
                row("  server VmRSS with them open",
                    f'{mb:,.0f} MB ({rss["start"]/1024:,.0f} MB before; {per:.1f} KB per connection; {rss["end"]/1024:,.0f} MB at the end)',
                    "< 200 MB", verdict(mb < 200))
        else:
            row(f"claims at {rate:,.0f}/s, {what}", val)

    if "import_big_s" in notes:
        s = float(notes["import_big_s"])
        mb = int(notes.get("big_jsonl_bytes", 0)) / 1e6
        row(f"import {big:,} tasks, one JSON Lines stream ({mb:,.0f} MB)", f"{s:.1f} s ({big / s:,.0f} tasks/s)")
    a, b = runs.get("next_1k_c1"), runs.get("next_big_c1")
    if a and b:
        row("next-task, 1 annotator, 1,000-task project: claim p50 / p99",
            f'{ms(a["claim"]["p50_ms"])} / {ms(a["claim"]["p99_ms"])} ({a["claims_per_s"]:,.0f} claims/s)')
        row(f"next-task, 1 annotator, {big:,}-task project: claim p50 / p99",
            f'{ms(b["claim"]["p50_ms"])} / {ms(b["claim"]["p99_ms"])} ({b["claims_per_s"]:,.0f} claims/s)',
            "as fast as at 1k", verdict(b["claim"]["p50_ms"] <= a["claim"]["p50_ms"] * 1.25 + 0.1))
    c = runs.get("next_big_c64")
    if c:
        row(f"next-task, {vas} annotators, {big:,}-task project",
            f'{c["claims_per_s"] + c["submits_per_s"]:,.0f} claims+submits/s; claim p50 {ms(c["claim"]["p50_ms"])}, p99 {ms(c["claim"]["p99_ms"])}')
    for tag, what in (("list_first", "GET tasks?limit=100 (first page)"),
                      ("list_deep", "GET tasks?limit=100&after=90%"),
                      ("list_open", "GET tasks?state=open&limit=100"),
                      ("list_done", "GET tasks?state=done&limit=100"),
                      ("count", "GET project (counts)"),
                      ("count_small", "GET project (counts), 1,000-task project")):
        r = runs.get(tag)
        if not r:
            continue
        g = r["get"]
        target = "< 50 ms" if tag != "count_small" else ""
        status = verdict(g["p99_ms"] < 50) if target else ""
        errs = g["http_errors"] + g["transport_errors"]
        row(f"{what} at {big:,} tasks" if tag != "count_small" else what,
            f'p50 {ms(g["p50_ms"])}, p99 {ms(g["p99_ms"])}, max {ms(g["max_ms"])}' + (f" ({errs} errors)" if errs else ""),
            target, status)

    print(f'Run {notes.get("date", "?")}; load average {notes.get("loadavg_start", "?")} at start, '
          f'{notes.get("loadavg_end", "?")} at the end; fsync (append 4 KiB) {notes.get("fsync", "?")}; '
          f'database {int(notes.get("db_bytes", 0)) / 1e6:,.0f} MB at the end.')
    print()
    print("| measure | result | target | |")
    print("|---|---|---|---|")
    for what, value, target, status in rows:
        print(f"| {what} | {value} | {target} | {status} |")


if __name__ == "__main__":
    main()
