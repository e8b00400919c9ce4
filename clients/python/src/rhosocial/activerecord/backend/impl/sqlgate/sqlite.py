"""SQLite behind sqlgate, with the ORM's own SQLite dialect and type adapters on the client."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from rhosocial.activerecord.backend.impl.sqlite.backend import SQLiteBackend
from rhosocial.activerecord.backend.impl.sqlite.config import SQLiteConnectionConfig

from .common import SqlgateBackendMixin
from .config import SqlgateOptions


@dataclass
class SqlgateSQLiteConfig(SQLiteConnectionConfig, SqlgateOptions):
    """SQLiteConnectionConfig whose database lives behind the gateway; ``database`` is never opened here."""

    database: str = "sqlgate:"
    delete_on_close: bool = False

    def is_memory_db(self) -> bool:
        return False


class SqlgateSQLiteBackend(SqlgateBackendMixin, SQLiteBackend):
    """The ORM's SQLiteBackend with its sqlite3 connection replaced by a sqlgate session.

    Results are read with ``valueMode: "raw"`` so the ORM's adapters see SQLite's storage classes, as from
    the sqlite3 module. Connection PRAGMAs are the gateway's (foreign_keys=ON, WAL, busy_timeout); the
    config's ``pragmas`` are not sent.
    """

    SQLGATE_FLAVOR = "sqlite"
    SQLGATE_DRIVERS = ("sqlite",)
    SQLGATE_PLACEHOLDERS = None  # the ORM's SQLite dialect writes `?`, as the gateway takes them

    def _sqlgate_detect_types(self) -> int:
        # The ORM's SQLiteBackend.connect registers this converter and opens sqlite3 with the config's
        # detect_types (PARSE_DECLTYPES | PARSE_COLNAMES by default); results here get the same treatment.
        sqlite3.register_converter("timestamp", lambda val: datetime.fromisoformat(val.decode("utf-8")))
        return int(self.config.detect_types or 0)

    def _apply_pragmas(self) -> None:
        """The gateway owns the connection's PRAGMAs."""

    def _reset_transaction_manager(self) -> None:
        self._transaction_manager = None
