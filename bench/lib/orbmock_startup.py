#!/usr/bin/env python3
"""Time Python's ``OrbMock()`` start-up: from the call to the first successful request.

usage: orbmock_startup.py RUNS

Each run: ``OrbMock().start()`` (spawn the executable with ``--listen 127.0.0.1:0``, read its
ready line, wait for ``/_mock/health``), then ``GET /v1/customers`` with a fresh account until
it answers 200. The clock stops at that answer; the server is stopped outside the timing.
Prints one line per run, in milliseconds. ``orb_mock`` must be importable and the executable
found as ``OrbMock`` finds it (``ORB_MOCK_BIN`` names one).
"""
import sys
import time

from orb_mock import OrbMock


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for _ in range(runs):
        start = time.perf_counter()
        mock = OrbMock(url="")  # never attach, even when ORB_MOCK_URL is set
        mock.start()
        with mock.account() as account:
            status = account.request("GET", "/v1/customers").status_code
        elapsed = time.perf_counter() - start
        mock.stop()
        if status != 200:
            sys.exit(f"GET /v1/customers answered {status}")
        print(f"{elapsed * 1000:.1f}")


if __name__ == "__main__":
    main()
