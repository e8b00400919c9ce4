"""What the three sqlgate backends share: the session connection, version discovery, errors, bulk runs."""
from __future__ import annotations

import logging
import re
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rhosocial.activerecord.backend import errors as orm
from rhosocial.activerecord.backend.result import QueryResult

from .config import SqlgateOptions
from .dbapi import SessionConnection
from .errors import to_orm_error
from .transport import GatewayError, HttpTransport, TransportError

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: Optional[str]) -> Optional[Tuple[int, int, int]]:
    """'PostgreSQL 15.18' / 'SQLite 3.53.2' / '10.11.6-MariaDB' -> (major, minor, patch)."""
    if not text:
        return None
    m = _VERSION.search(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def describe_backends(opts: SqlgateOptions) -> List[Dict[str, Any]]:
    """GET /v1/backends: the backends this token may use."""
    t = HttpTransport(opts.sqlgate_url, opts.sqlgate_token, opts.sqlgate_timeout, opts.sqlgate_connect_timeout)
    try:
        return t.request("GET", "/v1/backends")["backends"]
    except GatewayError as e:
        raise to_orm_error(e, "") from e
    finally:
        t.close()


def pick_backend(backends: List[Dict[str, Any]], name: Optional[str]) -> Dict[str, Any]:
    for b in backends:
        if (name is None and b.get("default")) or b.get("name") == name:
            return b
    known = ", ".join(str(b.get("name")) for b in backends) or "none"
    raise orm.ConnectionError(f"sqlgate has no backend {name or '(default)'} for this token (known: {known})")


class SqlgateBackendMixin:
    """Mixed in front of the ORM's own backend class for one database; replaces only its driver."""

    #: sqlite | postgres | mysql: how values and errors are translated.
    SQLGATE_FLAVOR = ""
    #: The gateway driver names this backend class serves.
    SQLGATE_DRIVERS: Tuple[str, ...] = ()
    #: How the ORM's dialect writes placeholders, converted for the server (None: already native).
    SQLGATE_PLACEHOLDERS: Optional[str] = None

    _sqlgate_info: Optional[Dict[str, Any]] = None

    def _sqlgate_backend_info(self) -> Dict[str, Any]:
        if self._sqlgate_info is None:
            info = pick_backend(describe_backends(self.config), self.config.sqlgate_backend)
            if info.get("driver") not in self.SQLGATE_DRIVERS:
                raise orm.ConnectionError(
                    f"sqlgate backend {info.get('name')!r} is {info.get('driver')}, not "
                    f"{'/'.join(self.SQLGATE_DRIVERS)}: use resolve_backend() to pick the backend class"
                )
            self._sqlgate_info = info
        return self._sqlgate_info

    def connect(self) -> None:
        if self._connection is not None:
            self.disconnect()
        info = self._sqlgate_backend_info()
        c = self.config
        transport = HttpTransport(c.sqlgate_url, c.sqlgate_token, c.sqlgate_timeout, c.sqlgate_connect_timeout)
        self._connection = SessionConnection(
            transport,
            backend=info["name"],
            flavor=self.SQLGATE_FLAVOR,
            placeholder_style=self.SQLGATE_PLACEHOLDERS and info.get("placeholderStyle"),
            in_transaction=lambda: bool(self._transaction_manager and self._transaction_manager.is_active),
            idle_timeout_ms=c.sqlgate_session_idle_timeout_ms,
            scratch=c.sqlgate_scratch,
            detect_types=self._sqlgate_detect_types(),
        )
        self.log(logging.INFO, f"Opened sqlgate session on backend {info['name']} ({info.get('serverVersion')})")

    def disconnect(self) -> None:
        conn = self._connection
        if conn is None:
            return
        try:
            if self._transaction_manager is not None and self._transaction_manager.is_active and conn.is_connected():
                try:
                    self._transaction_manager.rollback()
                except orm.DatabaseError as e:
                    self.log(logging.WARNING, f"Rollback on disconnect failed: {e}")
        finally:
            conn.close()
            self._connection = None
            self._cursor = None
            self._reset_transaction_manager()

    def _sqlgate_detect_types(self) -> int:
        """SQLite only: sqlite3 ``detect_types`` flags to emulate on results (0 = none)."""
        return 0

    def _reset_transaction_manager(self) -> None:
        """A new session has no transaction; subclasses whose manager is per-connection drop it."""

    def ping(self, reconnect: bool = True) -> bool:
        if self._connection is None or not self._connection.is_connected():
            if not reconnect:
                return False
            try:
                self.connect()
                return True
            except orm.DatabaseError:
                return False
        try:
            self._connection.execute("SELECT 1")
            return True
        except orm.DatabaseError:
            if not reconnect:
                return False
            try:
                self.connect()
                return True
            except orm.DatabaseError:
                return False

    def get_server_version(self) -> Tuple[int, int, int]:
        """The real server's version as the gateway reports it (GET /v1/backends)."""
        version = parse_version(self._sqlgate_backend_info().get("serverVersion"))
        if version is None:
            raise orm.ConnectionError("sqlgate reports no server version (is the database reachable?)")
        return version

    def _handle_error(self, error: Exception) -> None:
        if isinstance(error, orm.DatabaseError):
            self.log(logging.ERROR, f"sqlgate error: {error}")
            raise error
        super()._handle_error(error)  # type: ignore[misc]

    def execute_many(self, sql: str, params_list: List[Sequence[Any]]) -> Optional[QueryResult]:
        """One request with ``paramSets`` instead of one per set."""
        start = time.perf_counter()
        if self._connection is None:
            self.connect()
        try:
            final_sql, _ = self._prepare_sql_and_params(sql, None)
            cursor = self._connection.cursor()
            cursor.executemany(final_sql, params_list)
        except Exception as e:  # noqa: BLE001 - mapped by the backend's own rules
            return self._handle_execution_error(e)
        return QueryResult(affected_rows=cursor.rowcount, duration=time.perf_counter() - start)

    def _get_dql_cursor(self) -> Any:
        """execute_batch_dql: a streaming cursor outside a transaction (sqlgate.stream), the session's
        fully fetched one inside (the transaction's own view)."""
        if self._connection is None:
            self.connect()
        if self._transaction_manager is not None and self._transaction_manager.is_active:
            return self._connection.cursor()
        from .stream import StreamCursor

        c = self.config
        transport = HttpTransport(c.sqlgate_url, c.sqlgate_token, c.sqlgate_timeout, c.sqlgate_connect_timeout)
        return StreamCursor(self._connection, transport)

    def executescript(self, sql_script: str) -> None:
        raise orm.QueryError("executescript is not supported through sqlgate; execute one statement at a time")


__all__ = ["SqlgateBackendMixin", "describe_backends", "pick_backend", "parse_version", "TransportError"]
