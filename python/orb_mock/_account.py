"""One account on an orb-mock: its API key, an Orb client for it, and the ``/_mock`` routes.

Every ``/_mock`` route acts on the account whose key it is called with, so tests that each use
their own account never disturb each other, even on one shared server (README, "Control
surface").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Literal, Optional, TypedDict, Union

import httpx

if TYPE_CHECKING:
    import orb


class Settings(TypedDict):
    """``GET /_mock/settings``: the account's effective settings."""

    deletion_delay: str


class Deletion(TypedDict):
    """One entry of ``GET /_mock/deletions``."""

    customer_id: str
    state: Literal["pending", "completed", "failed"]
    due_at: str
    attempts: int
    last_error: Optional[str]
    requested_at: str
    completed_at: Optional[str]


class CompletedDeletions(TypedDict):
    """``POST /_mock/deletions/complete``: how many cascades ran, and the deletions."""

    completed: int
    data: List[Deletion]


class LoadedFixtures(TypedDict):
    """``POST /_mock/fixtures``: the ids loaded, by kind."""

    customers: List[str]
    invoices: List[str]
    subscriptions: List[str]


class JournalEntry(TypedDict):
    """One request in the journal (``GET /_mock/requests``)."""

    method: str
    path: str
    query: Optional[str]
    headers: Dict[str, str]
    body: Any
    status: Optional[int]
    timestamp: str


class FaultRule(TypedDict, total=False):
    """A fault rule (``POST /_mock/faults``), with its counts once added."""

    id: str
    method: str
    path: str
    status: int
    type: str
    headers: Dict[str, str]
    delay: str
    close: bool
    times: int
    after: int
    matched: int
    fired: int


Duration = Union[str, float, int]
"""A duration: ``"500ms"``, ``"2s"``, ``"5m"``, or a number of seconds."""


def _duration(value: Duration) -> str:
    if isinstance(value, str):
        return value
    return f"{int(round(value * 1000))}ms"


class OrbMockError(Exception):
    """A ``/_mock`` route answered with an error (its body is Orb's error body)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body


class Account:
    """A fresh account on an orb-mock: ``api_key``, ``base_url``, ``client()`` and helpers.

    Use it as a context manager, or call :meth:`close`, to release its HTTP connection.
    """

    def __init__(self, url: str, api_key: str, *, timeout: float = 30.0) -> None:
        #: The server's root, where the ``/_mock`` routes are: ``http://127.0.0.1:PORT``.
        self.url = url.rstrip("/")
        #: The API key of this account: send it as ``Authorization: Bearer <api_key>``.
        self.api_key = api_key
        #: The base URL for an Orb client: ``http://127.0.0.1:PORT/v1``.
        self.base_url = f"{self.url}/v1"
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            # Plain http:// needs no TLS settings; skipping them spares loading the CA bundle.
            verify=not self.url.startswith("http://"),
        )

    def __repr__(self) -> str:
        return f"Account(url={self.url!r}, api_key={self.api_key!r})"

    def __enter__(self) -> "Account":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the account's HTTP connection (the account itself stays on the server)."""
        self._http.close()

    def client(self, **kwargs: Any) -> "orb.Orb":
        """An ``orb.Orb`` client for this account (needs ``pip install orb-billing``).

        Keyword arguments go to ``orb.Orb`` (``max_retries=...``, ...).
        """
        try:
            import orb
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Account.client() needs the Orb SDK: pip install orb-billing"
            ) from err
        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("base_url", self.base_url)
        return orb.Orb(**kwargs)

    def request(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """Any request as this account (an Orb route or a ``/_mock`` one), without checks."""
        return self._http.request(method, path, json=json, **kwargs)

    def _call(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = self.request(method, path, json=json, **kwargs)
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        if response.status_code >= 400:
            raise OrbMockError(method, path, response.status_code, body)
        return body

    # --- settings and reset -----------------------------------------------------------------

    def reset(self) -> None:
        """``POST /_mock/reset``: deletes everything this account owns."""
        self._call("POST", "/_mock/reset")

    def settings(self) -> Settings:
        """``GET /_mock/settings``."""
        return self._call("GET", "/_mock/settings")

    def set_deletion_delay(self, delay: Optional[Duration]) -> Settings:
        """``PATCH /_mock/settings``: this account's deletion delay; ``None`` restores the
        server's ``--deletion-delay``."""
        value = None if delay is None else _duration(delay)
        return self._call("PATCH", "/_mock/settings", json={"deletion_delay": value})

    # --- deletions --------------------------------------------------------------------------

    def deletions(self) -> List[Deletion]:
        """``GET /_mock/deletions``: this account's deletions, newest first."""
        return self._call("GET", "/_mock/deletions")["data"]

    def complete_deletions(self, customer_id: Optional[str] = None) -> CompletedDeletions:
        """``POST /_mock/deletions/complete``: runs the pending cascades now (or one
        customer's) and returns once they have committed."""
        body = {} if customer_id is None else {"customer_id": customer_id}
        return self._call("POST", "/_mock/deletions/complete", json=body)

    # --- fixtures ---------------------------------------------------------------------------

    def load_fixtures(self, document: Dict[str, Any]) -> LoadedFixtures:
        """``POST /_mock/fixtures``: loads customers, invoices and subscriptions in one go."""
        return self._call("POST", "/_mock/fixtures", json=document)

    # --- journal ----------------------------------------------------------------------------

    def journal(self, method: Optional[str] = None, path: Optional[str] = None) -> List[JournalEntry]:
        """``GET /_mock/requests``: what this account sent, newest first, optionally only one
        method and a path prefix (``/customers``)."""
        params = {k: v for k, v in (("method", method), ("path", path)) if v is not None}
        return self._call("GET", "/_mock/requests", params=params)["data"]

    def clear_journal(self) -> None:
        """``DELETE /_mock/requests``."""
        self._call("DELETE", "/_mock/requests")

    # --- faults -----------------------------------------------------------------------------

    def add_fault(
        self,
        *,
        path: str,
        method: str = "*",
        status: Optional[int] = None,
        type: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        delay: Optional[Duration] = None,
        close: Optional[bool] = None,
        times: Optional[int] = None,
        after: Optional[int] = None,
    ) -> FaultRule:
        """``POST /_mock/faults``: adds a fault rule and returns it with its ``id``.

        ``path`` is an Orb path without ``/v1`` (``*`` matches one segment); ``status`` answers
        that Orb error, ``delay`` slows the answer, ``close`` drops the connection; ``times``
        bounds how often it fires and ``after`` skips that many matching requests first.
        """
        rule: Dict[str, Any] = {"method": method, "path": path}
        optional = {
            "status": status,
            "type": type,
            "headers": headers,
            "delay": None if delay is None else _duration(delay),
            "close": close,
            "times": times,
            "after": after,
        }
        rule.update({k: v for k, v in optional.items() if v is not None})
        return self._call("POST", "/_mock/faults", json=rule)

    def faults(self) -> List[FaultRule]:
        """``GET /_mock/faults``: the rules in firing order, with ``matched`` and ``fired``."""
        return self._call("GET", "/_mock/faults")["data"]

    def remove_fault(self, fault_id: str) -> None:
        """``DELETE /_mock/faults/{id}``."""
        self._call("DELETE", f"/_mock/faults/{fault_id}")

    def clear_faults(self) -> None:
        """``DELETE /_mock/faults``: removes every rule."""
        self._call("DELETE", "/_mock/faults")
