"""Connection settings for the sqlgate backends, ConnectionConfig-style.

Each backend kind takes the ORM's own config class for that database (so every option the ORM's dialect
and backend code reads is there) plus :class:`SqlgateOptions`. Host, port, user and password of the
database itself are not used: the gateway owns the database connection; the client knows only the
gateway's URL, a token, and the name of a backend configured there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from rhosocial.activerecord.backend.config import ConnectionConfig


@dataclass
class SqlgateOptions:
    """What a client needs to reach one backend of a sqlgate server."""

    #: Base URL of the gateway, e.g. ``http://127.0.0.1:8080``.
    sqlgate_url: str = "http://127.0.0.1:8080"
    #: API key or JWT sent as ``Authorization: Bearer``; None when the gateway has no ``auth``.
    sqlgate_token: Optional[str] = None
    #: Name of the backend on the gateway (``GET /v1/backends``); None = the gateway's default.
    sqlgate_backend: Optional[str] = None
    #: Seconds to wait for one HTTP response (a statement's own limit is the gateway's statementTimeoutMs).
    sqlgate_timeout: float = 60.0
    #: Seconds to wait for the TCP connection to the gateway.
    sqlgate_connect_timeout: float = 10.0
    #: Idle timeout asked for the session (ms); None = the gateway's default (sessions.idleTimeoutMs).
    sqlgate_session_idle_timeout_ms: Optional[int] = None
    #: SQLite only: open the session on a fresh private scratch database (``"scratch": true``; the backend
    #: must allow it, see docs/api.md "Scratch sessions"). It is empty at first and gone when the session
    #: ends, so an expired scratch session is never reopened behind the ORM's back (ConnectionError).
    sqlgate_scratch: bool = False


@dataclass
class SqlgateConnectionConfig(ConnectionConfig, SqlgateOptions):
    """Kind-neutral config: :func:`resolve_backend` turns it into the right backend class and config."""

    @classmethod
    def from_env(cls, prefix: str = "SQLGATE_") -> "SqlgateConnectionConfig":
        """Reads SQLGATE_URL, SQLGATE_TOKEN, SQLGATE_BACKEND."""
        return cls(
            sqlgate_url=os.environ.get(f"{prefix}URL", "http://127.0.0.1:8080"),
            sqlgate_token=os.environ.get(f"{prefix}TOKEN") or None,
            sqlgate_backend=os.environ.get(f"{prefix}BACKEND") or None,
        )
