"""What the three async sqlgate backends share: the async session connection, version discovery, errors,
bulk runs, streaming DQL. The async counterpart of :class:`.common.SqlgateBackendMixin`, same rules."""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rhosocial.activerecord.backend import errors as orm
from rhosocial.activerecord.backend.result import QueryResult

from .async_dbapi import AsyncSessionConnection, AsyncStreamCursor
from .async_transport import AsyncHttpTransport
from .common import describe_backends, parse_version, pick_backend
from .config import SqlgateOptions
from .errors import to_orm_error
from .transport import GatewayError


def _transport(c: SqlgateOptions) -> AsyncHttpTransport:
    return AsyncHttpTransport(c.sqlgate_url, c.sqlgate_token, c.sqlgate_timeout, c.sqlgate_connect_timeout)


async def describe_backends_async(opts: SqlgateOptions) -> List[Dict[str, Any]]:
    """GET /v1/backends without blocking the event loop."""
    t = _transport(opts)
    try:
        return (await t.request("GET", "/v1/backends"))["backends"]
    except GatewayError as e:
        raise to_orm_error(e, "") from e
    finally:
        await t.aclose()


class AsyncSqlgateBackendMixin:
    """Mixed in front of the ORM's own async backend class for one database; replaces only its driver."""

    #: sqlite | postgres | mysql: how values and errors are translated.
    SQLGATE_FLAVOR = ""
    #: The gateway driver names this backend class serves.
    SQLGATE_DRIVERS: Tuple[str, ...] = ()
    #: How the ORM's dialect writes placeholders, converted for the server (None: already native).
    SQLGATE_PLACEHOLDERS: Optional[str] = None

    _sqlgate_info: Optional[Dict[str, Any]] = None

    def _sqlgate_check(self, info: Dict[str, Any]) -> Dict[str, Any]:
        if info.get("driver") not in self.SQLGATE_DRIVERS:
            raise orm.ConnectionError(
                f"sqlgate backend {info.get('name')!r} is {info.get('driver')}, not "
                f"{'/'.join(self.SQLGATE_DRIVERS)}: use resolve_async_backend() to pick the backend class"
            )
        self._sqlgate_info = info
        return info

    async def _sqlgate_backend_info_async(self) -> Dict[str, Any]:
        if self._sqlgate_info is None:
            backends = await describe_backends_async(self.config)
            self._sqlgate_check(pick_backend(backends, self.config.sqlgate_backend))
        assert self._sqlgate_info is not None
        return self._sqlgate_info

    def _sqlgate_version(self) -> Tuple[int, int, int]:
        """The server version from GET /v1/backends (already fetched by connect(); fetched with a blocking
        request only if asked for before the first connect, as the ORM's sync-only callers do)."""
        if self._sqlgate_info is None:
            self._sqlgate_check(pick_backend(describe_backends(self.config), self.config.sqlgate_backend))
        assert self._sqlgate_info is not None
        version = parse_version(self._sqlgate_info.get("serverVersion"))
        if version is None:
            raise orm.ConnectionError("sqlgate reports no server version (is the database reachable?)")
        return version

    async def connect(self) -> None:
        if self._connection is not None:
            await self.disconnect()
        info = await self._sqlgate_backend_info_async()
        c = self.config
        self._connection = await AsyncSessionConnection.open(
            _transport(c),
            backend=info["name"],
            flavor=self.SQLGATE_FLAVOR,
            placeholder_style=self.SQLGATE_PLACEHOLDERS and info.get("placeholderStyle"),
            in_transaction=lambda: bool(self._transaction_manager and self._transaction_manager.is_active),
            idle_timeout_ms=c.sqlgate_session_idle_timeout_ms,
            scratch=c.sqlgate_scratch,
            detect_types=self._sqlgate_detect_types(),
        )
        self.log(logging.INFO, f"Opened sqlgate session on backend {info['name']} ({info.get('serverVersion')})")

    async def disconnect(self) -> None:
        conn = self._connection
        if conn is None:
            return
        try:
            if self._transaction_manager is not None and self._transaction_manager.is_active and not conn.broken:
                try:
                    await self._transaction_manager.rollback()
                except orm.DatabaseError as e:
                    self.log(logging.WARNING, f"Rollback on disconnect failed: {e}")
        finally:
            await conn.close()
            self._connection = None
            self._cursor = None
            self._reset_transaction_manager()

    def _sqlgate_detect_types(self) -> int:
        """SQLite only: sqlite3 ``detect_types`` flags to emulate on results (0 = none)."""
        return 0

    def _reset_transaction_manager(self) -> None:
        """A new session has no transaction; subclasses whose manager is per-connection drop it."""

    async def ping(self, reconnect: bool = True) -> bool:
        if self._connection is None or not await self._connection.is_connected():
            if not reconnect:
                return False
            try:
                await self.connect()
                return True
            except orm.DatabaseError:
                return False
        try:
            await self._connection.execute("SELECT 1")
            return True
        except orm.DatabaseError:
            if not reconnect:
                return False
            try:
                await self.connect()
                return True
            except orm.DatabaseError:
                return False

    async def _get_cursor(self) -> Any:
        if self._connection is None or not await self._connection.is_connected():
            await self.connect()
        return self._connection.cursor()

    async def _handle_error(self, error: Exception) -> None:
        if isinstance(error, orm.DatabaseError):
            self.log(logging.ERROR, f"sqlgate error: {error}")
            raise error
        await super()._handle_error(error)  # type: ignore[misc]

    async def _handle_auto_commit(self) -> None:
        """Autocommit statements are committed by the gateway; COMMIT inside a transaction is SQL."""

    async def _handle_auto_commit_if_needed(self) -> None:
        """As _handle_auto_commit."""

    async def execute_many(self, sql: str, params_list: List[Sequence[Any]]) -> Optional[QueryResult]:
        """One request with ``paramSets`` instead of one per set."""
        start = time.perf_counter()
        if self._connection is None:
            await self.connect()
        try:
            final_sql, _ = self._prepare_sql_and_params(sql, None)
            cursor = self._connection.cursor()
            await cursor.executemany(final_sql, params_list)
        except Exception as e:  # noqa: BLE001 - mapped by the backend's own rules
            return await self._handle_execution_error(e)
        return QueryResult(affected_rows=cursor.rowcount, duration=time.perf_counter() - start)

    async def _get_dql_cursor(self) -> Any:
        """execute_batch_dql: the NDJSON stream outside a transaction, the session's cursor inside."""
        if self._connection is None:
            await self.connect()
        if self._transaction_manager is not None and self._transaction_manager.is_active:
            return self._connection.cursor()
        return AsyncStreamCursor(self._connection, _transport(self.config))

    async def executescript(self, sql_script: str) -> None:
        raise orm.QueryError("executescript is not supported through sqlgate; execute one statement at a time")


__all__ = ["AsyncSqlgateBackendMixin", "describe_backends_async"]
