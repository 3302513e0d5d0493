#!/usr/bin/env python3
"""One run of the webhook delivery row: events per second from state change to a 2xx at a
local receiver.

usage: webhooks.py ORB_URL RECEIVER_URL N [CLIENTS]

RECEIVER_URL is the limit binary (bench/limit): `POST /hooks` answers 200 and counts,
`GET /hooks/count` answers the count. The script creates a webhook endpoint on orb-mock
(`POST /webhook_endpoints`, every event type) pointing at RECEIVER_URL/hooks, then creates N
customers (`POST /customers`, CLIENTS threads with a keep-alive connection each, default 16),
each of which emits one `customer.created` event. The clock starts at the first POST and stops
when the receiver's count has grown by N (polled every 20 ms). Prints one JSON object:

  per_s      events / seconds: events delivered per second, end to end (events: N less any
             refused POST, which emits nothing)
  seconds    first POST -> the receiver's count reached N
  post_s     first POST -> last POST answered; post_rps = N / post_s
  tail_s     last POST answered -> the count reached N (the backlog the deliveries left)
  received   the receiver's count at the end (more than N: an event was delivered twice)
  non2xx     POSTs not answered 201
"""
import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlsplit

DEADLINE_S = 600
POLL_S = 0.02


def main():
    orb, receiver, n = sys.argv[1], sys.argv[2].rstrip("/"), int(sys.argv[3])
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    key = os.environ.get("BENCH_KEY", "sk_test_bench")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    o, r = urlsplit(orb), urlsplit(receiver)

    conn = http.client.HTTPConnection(o.hostname, o.port, timeout=30)
    conn.request("POST", "/webhook_endpoints", headers=headers,
                 body=json.dumps({"url": f"{receiver}/hooks"}))
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 201:
        sys.exit(f"POST /webhook_endpoints answered {answer.status}: {body[:300]!r}")
    conn.close()

    poll = http.client.HTTPConnection(r.hostname, r.port, timeout=10)

    def received():
        poll.request("GET", "/hooks/count")
        return int(poll.getresponse().read())

    base = received()
    lock = threading.Lock()
    next_index = [0]
    non2xx = [0]
    last_answer = [0.0]
    failure = []

    def client():
        c = http.client.HTTPConnection(o.hostname, o.port, timeout=30)
        try:
            while True:
                with lock:
                    i = next_index[0]
                    if i >= n:
                        return
                    next_index[0] += 1
                payload = json.dumps({"name": f"Hook {i}", "email": f"hook{i}@example.com"})
                c.request("POST", "/customers", body=payload, headers=headers)
                a = c.getresponse()
                a.read()
                now = time.perf_counter()
                with lock:
                    if a.status != 201:
                        non2xx[0] += 1
                    last_answer[0] = max(last_answer[0], now)
        except Exception as err:  # noqa: BLE001 - reported, and the run fails
            failure.append(repr(err))
        finally:
            c.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    count = base
    while True:
        count = received()
        now = time.perf_counter()
        # Every answered 201 is one event to deliver; a refused POST emits none.
        with lock:
            expected = n - non2xx[0]
        if count - base >= expected and (count - base >= n or
                                        not any(t.is_alive() for t in threads)):
            break
        if failure:
            sys.exit(f"a POST failed: {failure[0]}")
        if now - start > DEADLINE_S:
            sys.exit(f"only {count - base} of {n} deliveries within {DEADLINE_S} s")
        time.sleep(POLL_S)
    end = now
    for t in threads:
        t.join()
    if failure:
        sys.exit(f"a POST failed: {failure[0]}")
    if non2xx[0] == n:
        sys.exit("every POST /customers was refused")
    seconds = end - start
    post_s = last_answer[0] - start
    events = n - non2xx[0]
    print(json.dumps({
        "per_s": round(events / seconds, 2), "seconds": round(seconds, 4), "events": events,
        "post_s": round(post_s, 4), "post_rps": round(n / post_s, 2) if post_s > 0 else None,
        "tail_s": round(max(0.0, end - last_answer[0]), 4), "received": count - base,
        "non2xx": non2xx[0], "socket_errors": 0,
    }))


if __name__ == "__main__":
    main()
