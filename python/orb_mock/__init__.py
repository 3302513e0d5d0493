"""orb-mock for Python: a local, stateful emulator of the Orb billing API for tests.

``OrbMock`` starts the ``orb-mock`` executable that this wheel installs (on a free port) or
attaches to one already running (``ORB_MOCK_URL``); ``OrbMock.account()`` hands out a fresh
account (an API key no other test uses) with typed helpers for the ``/_mock`` control routes.
The pytest plugin (``orb_mock.pytest_plugin``, registered through ``pytest11``) wraps both in
fixtures: ``orb_mock_server`` for the session and ``orb_mock`` for each test.
"""

from orb_mock._account import (
    Account,
    CompletedDeletions,
    Deletion,
    FaultRule,
    JournalEntry,
    LoadedFixtures,
    OrbMockError,
    Settings,
)
from orb_mock._server import OrbMock, OrbMockStartError, find_executable

__all__ = [
    "Account",
    "CompletedDeletions",
    "Deletion",
    "FaultRule",
    "JournalEntry",
    "LoadedFixtures",
    "OrbMock",
    "OrbMockError",
    "OrbMockStartError",
    "Settings",
    "find_executable",
]
