#!/usr/bin/env python3
"""Render the benchmark's results (one JSON object per line) as a Markdown report of medians.

usage: report.py RESULTS.jsonl META.json

Every figure in the tables is the median over runs of one target and workload; every ratio is
taken between two such medians from the same run of bench/run.sh.
"""
import json
import statistics
import sys
from collections import defaultdict

TARGETS = [
    ("sqlite-mem", "orb-mock, SQLite memory"),
    ("sqlite-file", "orb-mock, SQLite file"),
    ("pg", "orb-mock, PostgreSQL"),
    ("spec", "orb-mock --spec"),
    ("prism", "Prism"),
    ("steady", "Steady"),
    ("limit", "limit"),
]
ORB = ["sqlite-mem", "sqlite-file", "pg"]
# Measured on the spec target only: start-up, RSS and the plan row (see bench/run.sh).
SPEC_ONLY = ("startup", "rss", "plan")

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
meta = json.load(open(sys.argv[2]))
runs = defaultdict(list)
for row in rows:
    runs[(row["target"], row["workload"])].append(row)


def med(target, workload, field):
    values = [r[field] for r in runs.get((target, workload), []) if r.get(field) is not None]
    return statistics.median(values) if values else None


def count(target, workload):
    return len(runs.get((target, workload), []))


def total(target, workload, field):
    return sum(r.get(field) or 0 for r in runs.get((target, workload), []))


def num(x, digits=0):
    if x is None:
        return "–"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def ms(x):
    if x is None:
        return "–"
    return f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms" if x < 100 else f"{x:,.0f} ms"


def mib(kb):
    return "–" if kb is None else f"{kb / 1024:.1f} MiB"


def errors_note(target, workload):
    bad = total(target, workload, "non2xx") + total(target, workload, "socket_errors")
    return f" ⚠ {bad:,} errors" if bad else ""


def http_cell(target, workload, fields=("rps", "p50_ms", "p99_ms")):
    if not count(target, workload):
        return None
    parts = []
    if "rps" in fields:
        parts.append(f"{num(med(target, workload, 'rps'))} req/s")
    if "p50_ms" in fields:
        parts.append(f"p50 {ms(med(target, workload, 'p50_ms'))}")
    if "p99_ms" in fields:
        parts.append(f"p99 {ms(med(target, workload, 'p99_ms'))}")
    return " · ".join(parts) + errors_note(target, workload)


def cell(target, workload):
    na = "n/a"
    if target == "spec" and workload not in SPEC_ONLY:
        return None
    if workload == "startup":
        v = med(target, "startup", "ms")
        return None if v is None else ms(v)
    if workload == "rss":
        if not count(target, "rss"):
            return None
        return (f"{mib(med(target, 'rss', 'idle_kb'))} / {mib(med(target, 'rss', 'load_kb'))} "
                f"(peak {mib(med(target, 'rss', 'hwm_kb'))})")
    if workload == "get":
        return http_cell(target, "get")
    if workload == "delete":
        if target == "limit":
            parts = []
            if count("limit", "delete_pgbench"):
                parts.append("pgbench: " + http_cell("limit", "delete_pgbench"))
            if count("limit", "delete"):
                parts.append("HTTP alone (axum, 204): " + http_cell("limit", "delete"))
            return "<br>".join(parts) or None
        return http_cell(target, "delete")
    if workload == "post":
        return http_cell(target, "post", ("rps", "p99_ms"))
    if workload == "put":
        return http_cell(target, "put", ("rps", "p99_ms"))
    if workload == "plan":
        if target in ORB or target == "limit":
            return na
        return http_cell(target, "plan")
    if workload == "webhooks":
        if target in ("prism", "steady"):
            return na
        if target == "limit":
            return "the receiver (`POST /hooks`)"
        v = med(target, "webhooks", "per_s")
        if v is None:
            return None
        return (f"{num(v)} events/s ({med(target, 'webhooks', 'seconds'):.2f} s for "
                f"{num(med(target, 'webhooks', 'events'))}; POSTs at "
                f"{num(med(target, 'webhooks', 'post_rps'))}/s; last POST → last delivery "
                f"{med(target, 'webhooks', 'tail_s'):.2f} s)" + errors_note(target, "webhooks"))
    if workload == "cascade":
        if target in ("prism", "steady"):
            return na
        if target == "limit":
            parts = []
            for store, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
                v = med("limit", f"cascade_{store}", "per_s")
                if v is not None:
                    parts.append(f"{label}: {num(v)}/s")
            return "; ".join(parts) or None
        v = med(target, "cascade", "per_s")
        if v is None:
            return None
        return (f"{num(v)} cascades/s ({med(target, 'cascade', 'seconds'):.1f} s for "
                f"{num(med(target, 'cascade', 'customers'))})")
    if workload == "growth":
        if target in ("prism", "steady"):
            return na
        small, big = med(target, "growth_small", "p50_ms"), med(target, "growth_big", "p50_ms")
        if small is None and big is None:
            return None
        ratio = f" (×{big / small:.2f})" if small and big else ""
        return f"{ms(small)} → {ms(big)}{ratio}"
    if workload == "get_nojournal":
        if target != "sqlite-mem":
            return None
        off = http_cell(target, "get_nojournal")
        return off
    raise KeyError(workload)


WORKLOADS = [
    ("startup", "start-up to first healthy answer"),
    ("rss", "RSS idle / after load (peak)"),
    ("get", f"`GET /customers/{{id}}`, random ids among {meta['get_n']:,} seeded, "
            f"{meta['connections']} connections"),
    ("delete", "`DELETE /customers/{id}`, each a distinct seeded customer"),
    ("post", "`POST /customers`: req/s, p99"),
    ("put", f"`PUT /customers/{{id}}` (a new `name`), random ids among {meta['get_n']:,} seeded: "
            "req/s, p99"),
    ("plan", "`GET /plans/{id}`, a body generated from Orb's document (one fixed id), "
             f"{meta['connections']} connections"),
    ("webhooks", f"webhook delivery: {meta.get('hook_n', 0):,} customers created, each "
                 "`customer.created` POSTed to a local receiver that answers 200"),
    ("cascade", f"cascade drain: {meta['cascade_n']:,} deleted customers with 5 subscriptions + "
                "5 invoices each, delay 0"),
    ("growth", f"growth: DELETE p50 with {meta['growth_small']:,} → {meta['growth_big']:,} "
               "customers in the store"),
    ("get_nojournal", "`GET /customers/{id}` with the journal off (`--journal-size 0`)"),
]

out = []
w = out.append
w(f"## Results: {meta['date']}")
w("")
w(f"Machine: {meta['machine']}. {meta['versions']}.")
w(f"Knobs: RUNS={meta['runs']} (start-up: {meta['startup_runs']}; Prism start-up: "
  f"{meta['prism_startup_runs']}; cascade: {meta['cascade_runs']}), SCALE={meta['scale']}, "
  f"DURATION={meta['duration']}s per wrk run, wrk -t{meta['threads']} -c{meta['connections']}. "
  f"Wall time {meta.get('wall', '?')}.")
if meta.get("notes"):
    for note in meta["notes"]:
        w(f"- {note}")
w("")
w("Each figure is the median of its runs. `–`: not measured in this run.")
w("")
w("| workload | " + " | ".join(label for _, label in TARGETS) + " |")
w("|---" * (len(TARGETS) + 1) + "|")
for key, label in WORKLOADS:
    cells = [cell(t, key) for t, _ in TARGETS]
    if key == "get_nojournal" and cells[0] is None:
        continue
    w(f"| {label} | " + " | ".join(c if c is not None else "–" for c in cells) + " |")
w("")

# Targets, as ratios of medians from this run.
w("### Targets")
w("")
w("| target | store | orb-mock | reference | ratio | goal | verdict |")
w("|---|---|---|---|---|---|---|")


def verdict(ok):
    return "–" if ok is None else ("met" if ok else "**missed**")


def target_row(name, store, mine, ref, ratio, goal, ok):
    w(f"| {name} | {store} | {mine} | {ref} | {ratio} | {goal} | {verdict(ok)} |")


def ratio_of(a, b):
    return None if a is None or b in (None, 0) else a / b


steady_start = med("steady", "startup", "ms")
steady_hwm = med("steady", "rss", "hwm_kb")
for store in ORB:
    label = dict(TARGETS)[store].replace("orb-mock, ", "")
    r = ratio_of(med(store, "startup", "ms"), steady_start)
    target_row("start-up ≤ 1/4 of Steady's", label, ms(med(store, "startup", "ms")),
               ms(steady_start), num(r, 3) if r is not None else "–", "≤ 0.25",
               None if r is None else r <= 0.25)
for store in ORB:
    label = dict(TARGETS)[store].replace("orb-mock, ", "")
    r = ratio_of(med(store, "rss", "hwm_kb"), steady_hwm)
    target_row("RSS under load (peak) ≤ 1/4 of Steady's", label, mib(med(store, "rss", "hwm_kb")),
               mib(steady_hwm), num(r, 3) if r is not None else "–", "≤ 0.25",
               None if r is None else r <= 0.25)
for store in ("sqlite-mem", "sqlite-file"):
    label = dict(TARGETS)[store].replace("orb-mock, ", "")
    for workload in ("get", "delete"):
        mine, ref = med(store, workload, "rps"), med("steady", workload, "rps")
        r = ratio_of(mine, ref)
        target_row(f"{workload.upper()} req/s ≥ Steady's", label, num(mine), num(ref),
                   num(r, 2) if r is not None else "–", "≥ 1", None if r is None else r >= 1)
        mine, ref = med(store, workload, "p99_ms"), med("steady", workload, "p99_ms")
        r = ratio_of(mine, ref)
        target_row(f"{workload.upper()} p99 no worse than Steady's", label, ms(mine), ms(ref),
                   num(r, 2) if r is not None else "–", "≤ 1", None if r is None else r <= 1)
# orb-mock --spec (SQLite memory) against Steady: start-up, the plan row, peak RSS.
spec_label = "SQLite memory, `--spec`"
r = ratio_of(med("spec", "startup", "ms"), steady_start)
target_row("start-up with `--spec` ≤ 1/2 of Steady's", spec_label, ms(med("spec", "startup", "ms")),
           ms(steady_start), num(r, 3) if r is not None else "–", "≤ 0.5",
           None if r is None else r <= 0.5)
mine, ref = med("spec", "plan", "rps"), med("steady", "plan", "rps")
r = ratio_of(mine, ref)
target_row("`GET /plans/{id}` (generated) req/s ≥ Steady's", spec_label, num(mine), num(ref),
           num(r, 2) if r is not None else "–", "≥ 1", None if r is None else r >= 1)
mine, ref = med("spec", "plan", "p99_ms"), med("steady", "plan", "p99_ms")
r = ratio_of(mine, ref)
target_row("`GET /plans/{id}` (generated) p99 no worse than Steady's", spec_label, ms(mine),
           ms(ref), num(r, 2) if r is not None else "–", "≤ 1", None if r is None else r <= 1)
r = ratio_of(med("spec", "rss", "hwm_kb"), steady_hwm)
target_row("RSS under load (peak) with `--spec` ≤ 1/4 of Steady's", spec_label,
           mib(med("spec", "rss", "hwm_kb")), mib(steady_hwm),
           num(r, 3) if r is not None else "–", "≤ 0.25", None if r is None else r <= 0.25)
mine, ref = med("pg", "delete", "rps"), med("limit", "delete_pgbench", "rps")
r = ratio_of(mine, ref)
target_row("DELETE req/s ≥ 70% of pgbench", "PostgreSQL", num(mine), num(ref),
           num(r, 2) if r is not None else "–", "≥ 0.70", None if r is None else r >= 0.70)
for store in ORB:
    label = dict(TARGETS)[store].replace("orb-mock, ", "")
    small, big = med(store, "growth_small", "p50_ms"), med(store, "growth_big", "p50_ms")
    r = ratio_of(big, small)
    target_row(f"DELETE p50 flat {meta['growth_small']:,} → {meta['growth_big']:,}", label,
               ms(big), ms(small), num(r, 2) if r is not None else "–", "≤ 1.25",
               None if r is None else r <= 1.25)
w("")
w("Other ratios from this run:")
w("")
for store in ORB:
    label = dict(TARGETS)[store]
    bits = []
    for workload in ("get", "delete", "post", "put"):
        r = ratio_of(med(store, workload, "rps"), med("limit", workload if workload != "delete"
                                                      else "delete_pgbench", "rps"))
        if r is not None and not (workload == "delete" and store != "pg"):
            bits.append(f"{workload.upper()} {r:.2f}× the limit's req/s")
    r = ratio_of(med(store, "cascade", "per_s"),
                 med("limit", "cascade_pg" if store == "pg" else "cascade_sqlite", "per_s"))
    if r is not None:
        bits.append(f"cascades at {r:.3f}× the one-statement limit")
    for peer in ("prism",):
        r = ratio_of(med(store, "get", "rps"), med(peer, "get", "rps"))
        if r is not None:
            bits.append(f"GET {r:.1f}× Prism's req/s")
    r = ratio_of(med(store, "put", "rps"), med(store, "post", "rps"))
    if r is not None:
        bits.append(f"PUT {r:.2f}× its own POST req/s")
    if bits:
        w(f"- {label}: " + "; ".join(bits) + ".")
bits = []
for peer, name in (("steady", "Steady's"), ("prism", "Prism's")):
    r = ratio_of(med("spec", "plan", "rps"), med(peer, "plan", "rps"))
    if r is not None:
        bits.append(f"GET /plans/{{id}} {r:.2f}× {name} req/s")
r = ratio_of(med("spec", "rss", "idle_kb"), med("sqlite-mem", "rss", "idle_kb"))
if r is not None:
    bits.append(f"idle RSS {r:.2f}× that of SQLite memory without `--spec`")
r = ratio_of(med("spec", "startup", "ms"), med("sqlite-mem", "startup", "ms"))
if r is not None:
    bits.append(f"start-up {r:.1f}× that without `--spec`")
if bits:
    w("- orb-mock --spec: " + "; ".join(bits) + ".")
hooks = []
for store in ORB:
    v = med(store, "webhooks", "per_s")
    if v is None:
        continue
    label = dict(TARGETS)[store].replace("orb-mock, ", "")
    post = med(store, "post", "rps")
    vs_post = f", {v / post:.2f}× its POST req/s" if post else ""
    hooks.append(f"{label} {num(v)} events/s{vs_post}")
if hooks:
    w("- Webhook delivery, state change to a 2xx at a local receiver (one event at a time per "
      "endpoint): " + "; ".join(hooks) + ".")
r = ratio_of(med("sqlite-mem", "get_nojournal", "rps"), med("sqlite-mem", "get", "rps"))
if r is not None:
    w(f"- Journal off / on, GET req/s on SQLite memory: {r:.2f}.")
w("")

w("<details><summary>Every run</summary>")
w("")
w("| target | workload | runs |")
w("|---|---|---|")
FIELDS = ["ms", "rps", "p50_ms", "p99_ms", "non2xx", "socket_errors", "idle_kb", "load_kb",
          "hwm_kb", "per_s", "seconds", "events", "post_rps", "tail_s", "received", "seed_s"]
for (target, workload), items in sorted(runs.items()):
    shown = []
    for item in items:
        shown.append(", ".join(f"{k}={item[k]:g}" if isinstance(item[k], (int, float)) else
                               f"{k}={item[k]}" for k in FIELDS if k in item))
    w(f"| {target} | {workload} | " + "<br>".join(shown) + " |")
w("")
w("</details>")
print("\n".join(out))
