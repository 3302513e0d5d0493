#!/usr/bin/env python3
"""Seed orb-mock through POST /_mock/fixtures, in chunks, with caller-chosen ids.

usage: seed.py BASE_URL PREFIX COUNT [--owned] [--sql]

Creates customers PREFIX0 … PREFIX{COUNT-1}. With --owned each also gets 5 subscriptions and
5 invoices, draft and void alternately (so that deleting the customer is allowed and its cascade
has 10 rows to soft-delete). Chunks stay under orb-mock's default 1 MiB body limit. Prints the
seconds taken and the rows loaded.

With --sql the same rows are written straight into the server's database instead: for the growth
row's 1,000,000 customers, which fixtures (a transaction of per-row statements, checked one by
one) load too slowly on PostgreSQL. BENCH_SEED_PG names a PostgreSQL database, BENCH_SEED_SQLITE
a SQLite file (customers only); an in-memory store can only be seeded through fixtures. The rows
are the ones fixtures would write: same columns, same account (the SHA-256 of the API key).

The same direct writing is the fallback, on PostgreSQL, for a development build that has no
/_mock/fixtures route (404).
"""
import hashlib
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

LIMIT = 900_000  # bytes per request, under --max-body-bytes' default of 1 MiB

INVOICE_TAIL = (
    ',"currency":"USD","invoice_date":"2026-01-01T00:00:00+00:00","line_items":[{"name":"Seat",'
    '"quantity":2,"unit_config":{"unit_amount":"4.00"},"start_date":"2026-01-01",'
    '"end_date":"2026-01-31","item_id":"item_bench","model_type":"unit"}]}'
)


def customer_parts(prefix, n, owned):
    cid = f"{prefix}{n}"
    customer = (f'{{"id":"{cid}","name":"Bench {n}","email":"bench{n}@example.com",'
                f'"currency":"USD","metadata":{{}}}}')
    subs, invoices = [], []
    if owned:
        for j in range(5):
            subs.append(f'{{"id":"{cid}_s{j}","customer_id":"{cid}","plan_id":"plan_bench",'
                        f'"status":"active"}}')
            status = "draft" if j % 2 == 0 else "void"
            invoices.append(f'{{"id":"{cid}_i{j}","customer_id":"{cid}","status":"{status}"'
                            + INVOICE_TAIL)
    return customer, subs, invoices


def main():
    base, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    owned = "--owned" in sys.argv[4:]
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    headers = {"Authorization": "Bearer " + os.environ.get("BENCH_KEY", "sk_test_bench"),
               "Content-Type": "application/json"}
    start = time.perf_counter()

    def send(customers, subs, invoices):
        body = ('{"customers":[' + ",".join(customers) + '],"subscriptions":[' + ",".join(subs)
                + '],"invoices":[' + ",".join(invoices) + "]}")
        conn.request("POST", "/_mock/fixtures", body=body.encode(), headers=headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status == 404 and os.environ.get("BENCH_SEED_PG"):
            raise NoFixtures()
        if response.status != 201:
            sys.exit(f"POST /_mock/fixtures answered {response.status}: {answer[:500]!r}")

    account = hashlib.sha256(headers["Authorization"][len("Bearer "):].encode()).hexdigest()
    if "--sql" in sys.argv[4:]:
        if os.environ.get("BENCH_SEED_SQLITE"):
            rows = direct_sqlite(os.environ["BENCH_SEED_SQLITE"], account, prefix, count, owned)
        elif os.environ.get("BENCH_SEED_PG"):
            rows = direct_pg(os.environ["BENCH_SEED_PG"], account, prefix, count, owned)
        else:
            sys.exit("--sql needs BENCH_SEED_PG or BENCH_SEED_SQLITE")
        print(f"{time.perf_counter() - start:.3f} {rows}")
        return
    try:
        send([], [], [])  # an empty document: is the route there?
        rows = fixtures(count, prefix, owned, send)
    except NoFixtures:
        rows = direct_pg(os.environ["BENCH_SEED_PG"], account, prefix, count, owned)
    print(f"{time.perf_counter() - start:.3f} {rows}")


class NoFixtures(Exception):
    pass


def direct_pg(dsn, account, prefix, count, owned):
    """The same rows as fixtures, written straight into orb-mock's PostgreSQL database."""
    last = count - 1
    sql = f"""
INSERT INTO customers (account, id, name, email, currency, timezone, metadata, balance, state,
  created_at)
SELECT '{account}', '{prefix}' || g, 'Bench ' || g, 'bench' || g || '@example.com', 'USD',
  'Etc/UTC', '{{}}', '0.00', 'active', now() FROM generate_series(0, {last}) g;
"""
    if owned:
        sql += f"""
INSERT INTO subscriptions (account, id, customer_id, plan_id, status, net_terms, metadata,
  start_date, created_at)
SELECT '{account}', '{prefix}' || g || '_s' || j, '{prefix}' || g, 'plan_bench', 'active', 0,
  '{{}}', now(), now() FROM generate_series(0, {last}) g, generate_series(0, 4) j;
INSERT INTO invoices (account, id, customer_id, invoice_number, currency, status, invoice_date,
  net_terms, metadata, will_auto_issue, line_items, created_at, amount_due)
SELECT '{account}', '{prefix}' || g || '_i' || j, '{prefix}' || g, 'B-' || g || '-' || j, 'USD',
  CASE WHEN j % 2 = 0 THEN 'draft' ELSE 'void' END, now(), 0, '{{}}', false, '[]', now(), 0
  FROM generate_series(0, {last}) g, generate_series(0, 4) j;
"""
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn], input=sql.encode(),
                   check=True, stdout=subprocess.DEVNULL)
    return count * (11 if owned else 1)


def direct_sqlite(path, account, prefix, count, owned):
    """The same customers as fixtures, written straight into orb-mock's SQLite file (in WAL
    mode, so the running server keeps serving meanwhile)."""
    if owned:
        sys.exit("--sql on SQLite seeds customers only")
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    conn = sqlite3.connect(path, timeout=120)
    with conn:
        conn.execute(
            "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ?) "
            "INSERT INTO customers (account, id, name, email, currency, timezone, metadata, "
            "balance, state, created_at) "
            "SELECT ?, ? || n, 'Bench ' || n, 'bench' || n || '@example.com', 'USD', 'Etc/UTC', "
            "'{}', '0.00', 'active', ? FROM g",
            (count - 1, account, prefix, now))
    conn.close()
    return count


def fixtures(count, prefix, owned, send):
    rows = 0
    customers, subs, invoices, size = [], [], [], 0
    for n in range(count):
        c, s, i = customer_parts(prefix, n, owned)
        part = len(c) + sum(map(len, s)) + sum(map(len, i)) + 12
        if customers and size + part > LIMIT:
            send(customers, subs, invoices)
            customers, subs, invoices, size = [], [], [], 0
        customers.append(c)
        subs += s
        invoices += i
        size += part
        rows += 1 + len(s) + len(i)
    if customers:
        send(customers, subs, invoices)
    return rows


if __name__ == "__main__":
    main()
