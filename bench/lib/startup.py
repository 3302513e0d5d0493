#!/usr/bin/env python3
"""Start a server and time exec -> first answer.

usage: startup.py [--keep PIDFILE] [--timeout S] [--log FILE] [--any] URL -- COMMAND [ARGS...]

The clock starts immediately before the exec (fork+exec of COMMAND) and stops when URL first
answers with a status line: 2xx only, or with --any 2xx or 4xx (the stateless peers have no
health route, so any answer of theirs counts). Attempts are raw HTTP/1.1 requests on a fresh TCP
connection, retried every millisecond while the port refuses. Prints the elapsed milliseconds.
Without --keep the server is stopped (SIGTERM, then SIGKILL) before exiting; with --keep its pid
is written to PIDFILE and it keeps running (its own session, so the caller can kill its group).
"""
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit


def answer(host, port, path, headers):
    with socket.create_connection((host, port), timeout=2) as conn:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        request += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        conn.sendall(request.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the status line")
            data += chunk
        return int(data.split(b" ", 2)[1])


def main():
    args = sys.argv[1:]
    keep, timeout, log, accept_4xx = None, 180.0, os.devnull, False
    while args and args[0].startswith("--"):
        flag = args.pop(0)
        if flag == "--keep":
            keep = args.pop(0)
        elif flag == "--timeout":
            timeout = float(args.pop(0))
        elif flag == "--log":
            log = args.pop(0)
        elif flag == "--any":
            accept_4xx = True
        else:
            sys.exit(f"unknown flag {flag}")
    url = urlsplit(args.pop(0))
    if args.pop(0) != "--":
        sys.exit("expected -- before the command")
    host, port, path = url.hostname, url.port, url.path or "/"
    headers = {"Authorization": "Bearer " + os.environ.get("BENCH_KEY", "sk_test_bench")}
    with socket.socket() as probe:  # the port must be free, or we would time someone else
        if probe.connect_ex((host, port)) == 0:
            sys.exit(f"port {port} is already in use")

    out = open(log, "ab")
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    elapsed = None
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            sys.exit(f"{args[0]} exited with {proc.returncode} before answering (log: {log})")
        try:
            status = answer(host, port, path, headers)
        except OSError:
            time.sleep(0.001)
            continue
        if 200 <= status < 300 or (accept_4xx and 400 <= status < 500):
            elapsed = time.perf_counter() - start
            break
        time.sleep(0.001)
    if elapsed is None:
        stop(proc)
        sys.exit(f"{args[0]} did not answer {url.geturl()} within {timeout} s (log: {log})")
    print(f"{elapsed * 1000:.1f}")
    if keep:
        with open(keep, "w") as f:
            f.write(str(proc.pid))
    else:
        stop(proc)


def stop(proc):
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            pass


if __name__ == "__main__":
    main()
