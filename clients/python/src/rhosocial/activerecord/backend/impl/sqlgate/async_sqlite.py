"""Async SQLite behind sqlgate: the ORM's AsyncSQLiteBackend with aiosqlite replaced by a sqlgate session."""
from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Tuple

from rhosocial.activerecord.backend.impl.sqlite.backend.async_backend import AsyncSQLiteBackend

from .async_common import AsyncSqlgateBackendMixin
from .sqlite import SqlgateSQLiteConfig


class AsyncSqlgateSQLiteBackend(AsyncSqlgateBackendMixin, AsyncSQLiteBackend):
    """Results are read with ``valueMode: "raw"`` and sqlite3's ``detect_types`` emulated, as on the sync
    :class:`~.sqlite.SqlgateSQLiteBackend`; the gateway owns the connection's PRAGMAs. (The ORM's async SQLite
    module imports aiosqlite, so that package must be installed, though no local database is opened.)"""

    SQLGATE_FLAVOR = "sqlite"
    SQLGATE_DRIVERS = ("sqlite",)
    SQLGATE_PLACEHOLDERS = None

    def _sqlgate_detect_types(self) -> int:
        sqlite3.register_converter("timestamp", lambda val: datetime.fromisoformat(val.decode("utf-8")))
        return int(self.config.detect_types or 0)

    async def _apply_pragmas(self) -> None:
        """The gateway owns the connection's PRAGMAs."""

    def _reset_transaction_manager(self) -> None:
        self._transaction_manager = None

    def get_server_version(self) -> Tuple[int, int, int]:
        """The gateway's SQLite library version (GET /v1/backends), not the local aiosqlite's."""
        return self._sqlgate_version()


__all__ = ["AsyncSqlgateSQLiteBackend", "SqlgateSQLiteConfig"]
