"""Starts a real, built sqlgate (``node dist/src/cli.js serve``) for tests, the testsuite runs and the bench.

The gateway listens on an ephemeral loopback port (``port: 0``; its URL is read from the "listening at"
log line) with a SQLite backend in a temp folder plus PostgreSQL and MariaDB at SQLGATE_TEST_PG_URL /
SQLGATE_TEST_MYSQL_URL when reachable. A database that is not reachable is skipped with its reason, except
when CI is set: then it is an error, because CI must exercise every backend.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "dist" / "src" / "cli.js"
PG_URL = os.environ.get("SQLGATE_TEST_PG_URL", "postgres://sqlgate@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("SQLGATE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
#: Gateway backend name for each database kind (the names the tests, suite and bench use).
NAMES = {"sqlite": "sqlite", "postgres": "postgres", "mysql": "mariadb"}


def reachable(url: str, timeout: float = 1.5) -> bool:
    u = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((u.hostname, u.port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Gateway:
    """A running gateway process."""

    url: str
    dir: Path
    process: subprocess.Popen
    #: Kinds served here (sqlite always), and why the others are not.
    kinds: List[str]
    skipped: Dict[str, str] = field(default_factory=dict)
    _output: List[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self._output)

    def stop(self) -> None:
        """SIGTERM and wait (the gateway rolls back open sessions), then remove the temp folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, as in a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_gateway(extra: Optional[Dict[str, Any]] = None, kinds: Optional[List[str]] = None) -> Gateway:
    """Starts a gateway; ``extra`` is merged into the top level of its configuration."""
    if not CLI.exists():
        raise RuntimeError(f"{CLI} is missing: run `npm run build` at the repository root first")
    wanted = kinds or ["sqlite", "postgres", "mysql"]
    tmp = Path(tempfile.mkdtemp(prefix="sqlgate-py-"))
    backends: Dict[str, Any] = {}
    served: List[str] = []
    skipped: Dict[str, str] = {}
    if "sqlite" in wanted:
        backends[NAMES["sqlite"]] = {
            "driver": "sqlite",
            "database": str(tmp / "gateway.sqlite"),
            "pool": {"max": 4},
            # tests/test_scratch.py: private databases per session (off unless a backend enables them).
            "scratch": {"enabled": True, "principals": ["*"], "maxSessions": 4},
        }
        served.append("sqlite")
    for kind, url in (("postgres", PG_URL), ("mysql", MYSQL_URL)):
        if kind not in wanted:
            continue
        if reachable(url):
            backends[NAMES[kind]] = {"driver": kind, "url": url, "pool": {"max": 10}}
            served.append(kind)
        else:
            reason = f"{kind} is not reachable at {urllib.parse.urlsplit(url).netloc}"
            if os.environ.get("CI"):
                shutil.rmtree(tmp, ignore_errors=True)
                raise RuntimeError(f"CI is set but {reason}: CI must exercise every backend")
            skipped[kind] = reason
    config: Dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 0},
        "logging": {"level": "info"},
        "backends": backends,
    }
    for key, value in (extra or {}).items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp / "sqlgate.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen(
        ["node", str(CLI), "serve", "--config", str(path)],
        cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"},
    )
    gw = Gateway(url="", dir=tmp, process=proc, kinds=served, skipped=skipped)
    found = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            if len(gw._output) < 2000:
                gw._output.append(line)
            m = re.search(r"listening at (http://127\.0\.0\.1:\d+)", line, re.I)
            if m and not found.is_set():
                gw.url = m.group(1)
                found.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 30
    while not found.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            gw.stop()
            raise RuntimeError(f"gateway did not start (exit {proc.poll()}):\n{gw.output}")
    return gw
