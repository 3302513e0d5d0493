"""Fixtures for the Python SDK fidelity suite.

run.sh starts orb-mock and exports:
  ORB_MOCK_URL       http://127.0.0.1:PORT (no /v1)
  ORB_MOCK_SDK_KEYS  comma-separated API keys the server accepts, one fresh account per test
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import httpx
import orb
import pytest

BASE_URL = os.environ.get("ORB_MOCK_URL", "http://127.0.0.1:4010").rstrip("/")
KEYS = [k for k in os.environ.get("ORB_MOCK_SDK_KEYS", "").split(",") if k]
_unused_keys: Iterator[str] = iter(KEYS)

# A key the server was not started with (run.sh passes --api-keys).
BAD_KEY = "sk_test_sdk_not_a_key"


class Mock:
    """Plain-HTTP access to orb-mock's control surface (/_mock/...), for one account."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.http = httpx.Client(
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )

    def call(self, method: str, path: str, body: Any = None, params: Any = None) -> httpx.Response:
        return self.http.request(method, path, json=body, params=params)

    def ok(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        """Call a control route and insist it exists and succeeded; return its JSON (or None)."""
        r = self.call(method, path, body, params)
        assert r.status_code < 300, (
            f"{method} {path} -> {r.status_code} {r.text}"
            + ("  (control route not implemented by this orb-mock yet?)" if r.status_code == 404 else "")
        )
        return r.json() if r.content else None

    def reset(self) -> None:
        self.ok("POST", "/_mock/reset")

    def add_fault(self, rule: dict[str, Any]) -> Any:
        return self.ok("POST", "/_mock/faults", rule)

    def requests(self, method: str, path: str) -> list[dict[str, Any]]:
        return self.ok("GET", "/_mock/requests", params={"method": method, "path": path})["data"]

    def complete_deletion(self, customer_id: str) -> Any:
        return self.ok("POST", "/_mock/deletions/complete", {"customer_id": customer_id})

    def close(self) -> None:
        self.http.close()


def make_client(key: str, *, strict: bool = True, max_retries: int = 0) -> orb.Orb:
    return orb.Orb(
        api_key=key,
        base_url=f"{BASE_URL}/v1",
        _strict_response_validation=strict,
        max_retries=max_retries,
    )


def fresh_key() -> str:
    """An API key no other test in this run has used: a fresh, empty account."""
    try:
        return next(_unused_keys)
    except StopIteration:
        pytest.fail(f"ORB_MOCK_SDK_KEYS ran out ({len(KEYS)} keys); start orb-mock with more keys (run.sh)")


@pytest.fixture
def key() -> str:
    """A fresh account: every test gets an API key no other test in this run has used."""
    return fresh_key()


@pytest.fixture
def mock(key: str) -> Iterator[Mock]:
    m = Mock(key)
    yield m
    m.close()


@pytest.fixture
def client(key: str) -> Iterator[orb.Orb]:
    """Strict client: any response that does not match the SDK's models raises."""
    c = make_client(key, strict=True)
    yield c
    c.close()


@pytest.fixture
def lax_client(key: str) -> Iterator[orb.Orb]:
    """Non-strict client on the same account (what the SDK uses by default)."""
    c = make_client(key, strict=False)
    yield c
    c.close()
