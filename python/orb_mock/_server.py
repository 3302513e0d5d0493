"""Starting the ``orb-mock`` executable on a free port, or attaching to a running orb-mock.

The executable is started with ``--listen 127.0.0.1:0`` and reports the port it bound in one
JSON line on stdout (README, "Starting orb-mock from a program"); its logs go to a temporary
file, shown when it fails to start.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from typing import IO, Any, Dict, Mapping, Optional, Sequence

import httpx

from orb_mock._account import Account, Duration, _duration

_EXE = "orb-mock.exe" if sys.platform == "win32" else "orb-mock"


def _needs_tls(url: str) -> bool:
    """Whether a client for ``url`` needs TLS settings: not for ``http://``, where skipping
    them spares loading the CA bundle (most of a client's set-up time)."""
    return not url.startswith("http://")


class OrbMockStartError(RuntimeError):
    """The executable was not found, exited, or did not become ready in time."""


def find_executable() -> str:
    """The ``orb-mock`` executable: ``$ORB_MOCK_BIN``, else the one this wheel installed next to
    this Python's scripts (found even when the virtualenv is not activated), else ``PATH``."""
    explicit = os.environ.get("ORB_MOCK_BIN")
    if explicit:
        return explicit
    for scheme_dir in {sysconfig.get_path("scripts"), os.path.dirname(sys.executable)}:
        candidate = os.path.join(scheme_dir, _EXE)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("orb-mock")
    if found:
        return found
    raise OrbMockStartError(
        "no orb-mock executable: pip install orb-mock, put orb-mock on PATH, or set ORB_MOCK_BIN"
    )


class OrbMock:
    """An orb-mock for tests: started on a free port, or attached to one already running.

    >>> with OrbMock() as mock:
    ...     account = mock.account()
    ...     client = account.client()   # an orb.Orb for a fresh account

    With ``url`` (or, when ``url`` is not given, ``$ORB_MOCK_URL``) it attaches to that server
    instead of starting one, and :meth:`stop` leaves it running; ``url=""`` always starts one. Otherwise :meth:`start` runs
    the executable with ``--listen 127.0.0.1:0`` plus the options given here and ``args``.
    """

    def __init__(
        self,
        *,
        url: Optional[str] = None,
        executable: Optional[str] = None,
        database_url: Optional[str] = None,
        deletion_delay: Optional[Duration] = None,
        args: Sequence[str] = (),
        env: Optional[Mapping[str, str]] = None,
        startup_timeout: float = 30.0,
    ) -> None:
        attach_to = (url if url is not None else os.environ.get("ORB_MOCK_URL")) or None
        self._attached = attach_to is not None
        self._url: Optional[str] = attach_to.rstrip("/") if attach_to else None
        self._executable = executable
        self._args = list(args)
        if database_url is not None:
            self._args += ["--database-url", database_url]
        if deletion_delay is not None:
            self._args += ["--deletion-delay", _duration(deletion_delay)]
        self._env = dict(env) if env is not None else None
        self._startup_timeout = startup_timeout
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._log: Optional[IO[bytes]] = None
        #: The ready line the executable wrote (``None`` when attached).
        self.ready: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        how = "attached" if self._attached else "started"
        return f"OrbMock(url={self._url!r}, {how})"

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> "OrbMock":
        """Starts the server (or checks the one to attach to) and waits until it is healthy."""
        if self._attached:
            assert self._url is not None
            self._wait_healthy(self._url, process=None)
            return self
        if self._process is not None:
            return self
        env = dict(os.environ if self._env is None else self._env)
        env.setdefault("RUST_LOG", "warn")
        # The variables the binary reads for these two would fight the flags we pass.
        env.pop("ORB_MOCK_LISTEN", None)
        self._log = tempfile.TemporaryFile(prefix="orb-mock-", suffix=".log")
        command = [self._executable or find_executable(), "--listen", "127.0.0.1:0", *self._args]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, env=env
            )
        except OSError as err:
            raise OrbMockStartError(f"cannot run {command[0]}: {err}") from err
        try:
            self.ready = self._read_ready_line(self._process)
            self._url = self.ready["url"]
            self._wait_healthy(self.ready["url"], process=self._process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops a server this object started (SIGTERM, then kill after 10 s); an attached one
        keeps running."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
            self._url = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "OrbMock":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests use ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root, where the ``/_mock`` routes are: ``http://127.0.0.1:PORT``."""
        if self._url is None:
            raise OrbMockStartError("orb-mock is not running: call start() or use `with`")
        return self._url

    @property
    def base_url(self) -> str:
        """The base URL for an Orb client: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def attached(self) -> bool:
        """Whether this object attached to a server it did not start."""
        return self._attached

    def account(self, api_key: Optional[str] = None) -> Account:
        """A fresh account: a random API key no other test uses (or ``api_key``)."""
        return Account(self.url, api_key or f"sk_test_orbmock_{secrets.token_hex(12)}")

    # --- start-up ---------------------------------------------------------------------------

    def _read_ready_line(self, process: "subprocess.Popen[bytes]") -> Dict[str, Any]:
        # A thread, because neither select() on Windows pipes nor a blocking read with a
        # timeout is portable.
        lines: "queue.Queue[bytes]" = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=self._startup_timeout)
        except queue.Empty:
            raise OrbMockStartError(
                f"orb-mock wrote no ready line within {self._startup_timeout} s{self._log_tail()}"
            ) from None
        if not line:
            process.wait(timeout=5)
            raise OrbMockStartError(
                f"orb-mock exited with {process.returncode} during start-up{self._log_tail()}"
            )
        try:
            ready = json.loads(line)
        except ValueError:
            raise OrbMockStartError(f"orb-mock's first stdout line is not JSON: {line!r}") from None
        if not isinstance(ready, dict) or ready.get("event") != "listening":
            raise OrbMockStartError(f"unexpected ready line: {line!r}")
        return ready

    def _wait_healthy(self, url: str, process: "Optional[subprocess.Popen[bytes]]") -> None:
        deadline = time.monotonic() + self._startup_timeout
        last: object = None
        with httpx.Client(timeout=2.0, verify=_needs_tls(url)) as http:
            while time.monotonic() < deadline:
                if process is not None and process.poll() is not None:
                    raise OrbMockStartError(
                        f"orb-mock exited with {process.returncode}{self._log_tail()}"
                    )
                try:
                    response = http.get(f"{url}/_mock/health")
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text}"
                except httpx.HTTPError as err:
                    last = err
                time.sleep(0.02)
        raise OrbMockStartError(f"{url}/_mock/health did not answer 200 in time (last: {last})")

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        tail = self._log.read()[-4000:].decode("utf-8", "replace").strip()
        return f"; its log:\n{tail}" if tail else ""
