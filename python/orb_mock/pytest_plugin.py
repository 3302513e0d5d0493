"""The pytest plugin (entry point ``pytest11``): one orb-mock per run, one account per test.

* ``orb_mock_server`` (session): an :class:`~orb_mock.OrbMock`. Under pytest-xdist each worker
  is its own session, so each worker starts its own server; with ``ORB_MOCK_URL`` (or
  ``--orb-mock-url``) every worker attaches to that one instead.
* ``orb_mock`` (function): an :class:`~orb_mock.Account` with a fresh API key, so tests never
  see each other's data even on a shared server.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from orb_mock._account import Account
from orb_mock._server import OrbMock


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orb-mock")
    group.addoption(
        "--orb-mock-url",
        default=None,
        help="attach to the orb-mock at this URL instead of starting one (default: $ORB_MOCK_URL)",
    )
    parser.addini(
        "orb_mock_args",
        type="args",
        default=[],
        help="extra flags for the orb-mock the plugin starts (e.g. --deletion-delay 1h)",
    )


@pytest.fixture(scope="session")
def orb_mock_server(pytestconfig: pytest.Config) -> Iterator[OrbMock]:
    """The run's orb-mock (one per xdist worker), or the one ``ORB_MOCK_URL`` names."""
    url = pytestconfig.getoption("orb_mock_url") or os.environ.get("ORB_MOCK_URL") or None
    args = pytestconfig.getini("orb_mock_args")
    with OrbMock(url=url, args=args) as server:
        yield server


@pytest.fixture
def orb_mock(orb_mock_server: OrbMock) -> Iterator[Account]:
    """A fresh account for this test: ``api_key``, ``base_url``, ``client()`` and helpers for
    every ``/_mock`` route."""
    with orb_mock_server.account() as account:
        yield account
