"""pytest plugin (``-p providers.exit_guard``): stops aiosqlite worker threads a direct async SQLite run
left open, so the pytest process can exit.

aiosqlite runs each connection on a non-daemon thread that ends only when the connection is closed. A few
testsuite tests keep an async model's backend connected after their provider's cleanup (the model class
holds it), and the interpreter then waits for those threads forever after the last test. Only the direct
runs use aiosqlite; through sqlgate no local connection exists.
"""
from __future__ import annotations

import gc
import sys


def pytest_unconfigure(config) -> None:  # noqa: ANN001 - pytest hook
    aiosqlite = sys.modules.get("aiosqlite")
    if aiosqlite is None:
        return
    for obj in gc.get_objects():
        if isinstance(obj, aiosqlite.Connection) and getattr(obj, "_running", False):
            try:
                obj.stop()
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass
