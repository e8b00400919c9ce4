"""The async twin of :mod:`.dbapi`: an awaitable DB-API-shaped connection over one pinned sqlgate session.

The ORM's async backends talk to aiosqlite / psycopg's AsyncConnection / mysql-connector's aio API:
``cursor()`` (awaited on some backends, used as ``async with`` on others), ``await cursor.execute``,
``await cursor.fetchall()``, ``description``, ``rowcount``, ``lastrowid``. Statement bodies, placeholder and
value translation, session-expiry and retry rules are the sync connection's (this class inherits them);
only the waiting is asynchronous.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Generator, List, Optional, Sequence

from rhosocial.activerecord.backend import errors as orm

from .async_transport import AsyncHttpTransport, AsyncResponse
from .dbapi import SessionConnection, SessionCursor
from .errors import to_orm_error
from .transport import GatewayError, TransportError
from .values import decode_rows, sqlite_columns


class AsyncSessionConnection(SessionConnection):
    """One async ORM connection = one sqlgate session. Create with ``await AsyncSessionConnection.open(...)``."""

    def __init__(  # noqa: D107 - the sync connection's fields, without opening the session
        self,
        transport: AsyncHttpTransport,
        backend: str,
        flavor: str,
        placeholder_style: Optional[str],
        in_transaction: Callable[[], bool],
        idle_timeout_ms: Optional[int] = None,
        detect_types: int = 0,
        scratch: bool = False,
    ) -> None:
        self._t = transport  # type: ignore[assignment]
        self.backend = backend
        self.flavor = flavor
        self._style = placeholder_style
        self._in_tx = in_transaction
        self._idle_timeout_ms = idle_timeout_ms
        self._scratch = scratch
        self.detect_types = detect_types
        self.session_id: Optional[str] = None
        self.closed = False
        self.broken = False

    @classmethod
    async def open(cls, transport: AsyncHttpTransport, **kwargs: Any) -> "AsyncSessionConnection":
        conn = cls(transport, **kwargs)
        await conn._open_session_async()
        return conn

    async def _open_session_async(self) -> None:
        try:
            answer = await self._t.request("POST", "/v1/sessions", self.session_body())  # type: ignore[misc]
        except GatewayError as e:
            raise to_orm_error(e, self.flavor) from e
        self.session_id = answer["id"]

    async def close(self) -> None:  # type: ignore[override]
        if self.closed:
            return
        self.closed = True
        sid, self.session_id = self.session_id, None
        try:
            if sid:
                await self._t.request("DELETE", f"/v1/sessions/{sid}")  # type: ignore[misc]
        except (GatewayError, TransportError):
            pass  # gone already: the gateway rolls back and releases an abandoned session itself
        finally:
            await self._t.aclose()  # type: ignore[attr-defined]

    async def is_connected(self) -> bool:  # type: ignore[override]
        """Awaitable, as mysql-connector's aio ``is_connected``; no request is sent."""
        return not self.closed and not self.broken

    def cursor(self) -> "AsyncSessionCursor":  # type: ignore[override]
        return AsyncSessionCursor(self)

    async def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> "AsyncSessionCursor":  # type: ignore[override]
        cur = self.cursor()
        await cur.execute(sql, params)
        return cur

    async def commit(self) -> None:  # type: ignore[override]
        """COMMIT arrives as SQL; an autocommit statement is committed by the server already."""

    async def rollback(self) -> None:  # type: ignore[override]
        """As for commit."""

    async def run(self, path: str, body: Dict[str, Any]) -> Any:  # type: ignore[override]
        """The sync ``run``'s rules: an expired session is reopened and the statement resent only outside a
        transaction; inside one it is a TransactionError; a lost answer inside one is a ConnectionError."""
        if self.closed:
            raise orm.ConnectionError("sqlgate connection is closed")
        for attempt in (0, 1):
            try:
                return await self._t.request("POST", f"/v1/sessions/{self.session_id}{path}", body)  # type: ignore[misc]
            except GatewayError as e:
                if e.code in ("SESSION_EXPIRED", "SESSION_NOT_FOUND"):
                    if self._in_tx():
                        self.broken = True
                        raise orm.TransactionError(
                            f"sqlgate session {e.code.lower().replace('_', ' ')} inside a transaction; "
                            "the gateway rolled the transaction back"
                        ) from e
                    if self._scratch:
                        self.broken = True
                        raise orm.ConnectionError(
                            f"sqlgate scratch session {e.code.lower().replace('_', ' ')}: its database is gone "
                            "with it (a new session would start empty)"
                        ) from e
                    if attempt == 0:
                        await self._open_session_async()
                        continue
                raise to_orm_error(e, self.flavor) from e
            except TransportError as e:
                if self._in_tx():
                    self.broken = True
                    raise orm.ConnectionError(
                        f"{e} (inside a transaction: its outcome is unknown to the client; the gateway rolls "
                        "back a session whose client is gone)"
                    ) from e
                raise
        raise AssertionError("unreachable")

    async def statement(self, sql: str, params: Optional[Sequence[Any]]) -> Dict[str, Any]:  # type: ignore[override]
        return await self.run("/execute", self.statement_body(sql, params))

    async def bulk(self, sql: str, param_sets: List[Sequence[Any]]) -> Dict[str, Any]:  # type: ignore[override]
        return await self.run("/batch", self.bulk_body(sql, param_sets))


class _Awaitable:
    """``await conn.cursor()`` (aiosqlite, mysql aio) and ``async with conn.cursor()`` (psycopg) both work."""

    def __await__(self) -> Generator[Any, None, Any]:
        async def itself() -> Any:
            return self

        return itself().__await__()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()  # type: ignore[attr-defined]


class AsyncSessionCursor(_Awaitable, SessionCursor):
    """An async cursor over fully fetched results (the gateway answers with the whole result)."""

    async def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> "AsyncSessionCursor":  # type: ignore[override]
        self._load(await self._conn.statement(sql, params))  # type: ignore[misc]
        return self

    async def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> "AsyncSessionCursor":  # type: ignore[override]
        sets = list(seq_of_params)
        self._rows, self.description, self.lastrowid = [], None, None
        if not sets:
            self.rowcount = 0
            return self
        self._load_bulk(await self._conn.bulk(sql, sets))  # type: ignore[misc]
        return self

    async def executescript(self, script: str) -> "AsyncSessionCursor":  # type: ignore[override]
        raise orm.QueryError("executescript is not supported through sqlgate; send one statement at a time")

    async def fetchone(self) -> Optional[tuple]:  # type: ignore[override]
        return SessionCursor.fetchone(self)

    async def fetchmany(self, size: Optional[int] = None) -> List[tuple]:  # type: ignore[override]
        return SessionCursor.fetchmany(self, size)

    async def fetchall(self) -> List[tuple]:  # type: ignore[override]
        return SessionCursor.fetchall(self)

    async def close(self) -> None:  # type: ignore[override]
        self._rows = []

    def __aiter__(self) -> "AsyncSessionCursor":
        return self

    async def __anext__(self) -> tuple:
        row = SessionCursor.fetchone(self)
        if row is None:
            raise StopAsyncIteration
        return row


class AsyncStreamCursor(_Awaitable):
    """execute_batch_dql outside a transaction: the NDJSON stream on a connection of its own, decoded page
    by page (the sync :class:`.stream.StreamCursor`'s rules; closing before the trailer cancels the query)."""

    arraysize = 1000

    def __init__(self, conn: AsyncSessionConnection, transport: AsyncHttpTransport) -> None:
        self._conn = conn
        self._t = transport
        self._resp: Optional[AsyncResponse] = None
        self._columns: List[Dict[str, Any]] = []
        self._done = False
        self.description: Optional[List[tuple]] = None
        self.rowcount = -1
        self.lastrowid: Optional[int] = None

    async def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> "AsyncStreamCursor":
        body = {"backend": self._conn.backend, **self._conn.statement_body(sql, params)}
        try:
            self._resp = await self._t.open_stream("/v1/execute", body)
        except GatewayError as e:
            raise to_orm_error(e, self._conn.flavor) from e
        head = await self._line()
        if not isinstance(head, dict) or "columns" not in head:
            await self._fail(head)
        self._columns = head["columns"]
        detect = self._conn.detect_types
        names = [n for n, _ in sqlite_columns(self._columns, detect)] if detect else [c["name"] for c in self._columns]
        self.description = [
            (n, c.get("dbType"), None, None, None, None, c.get("nullable")) for n, c in zip(names, self._columns)
        ] or None
        self.rowcount = 0
        return self

    async def _line(self) -> Any:
        import asyncio

        assert self._resp is not None
        try:
            raw = await asyncio.wait_for(self._resp.readline(), self._t.timeout)
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            await self.close()
            raise orm.ConnectionError(f"sqlgate stream lost: {e!r}") from e
        if not raw:
            await self.close()
            raise orm.ConnectionError("sqlgate stream ended without its trailer (cut off)")
        return json.loads(raw)

    async def _fail(self, line: Any) -> None:
        await self.close()
        err = line.get("error") if isinstance(line, dict) else None
        if isinstance(err, dict):
            raise to_orm_error(GatewayError(200, err), self._conn.flavor)
        raise orm.DatabaseError(f"sqlgate stream: unexpected line {str(line)[:200]}")

    async def fetchmany(self, size: Optional[int] = None) -> List[tuple]:
        n = size or self.arraysize
        raw: List[List[Any]] = []
        while not self._done and len(raw) < n:
            line = await self._line()
            if isinstance(line, list):
                raw.append(line)
                continue
            if isinstance(line, dict) and line.get("done") is True:
                if int(line.get("rowCount", -1)) != self.rowcount + len(raw):
                    await self._fail({"error": {"code": "INTERNAL", "message": "stream row count mismatch"}})
                self._done = True
                await self.close()
                break
            await self._fail(line)
        self.rowcount += len(raw)
        return decode_rows(self._conn.flavor, self._columns, raw, self._conn.detect_types)

    async def fetchall(self) -> List[tuple]:
        out: List[tuple] = []
        while not self._done:
            out.extend(await self.fetchmany(self.arraysize))
        return out

    async def fetchone(self) -> Optional[tuple]:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def close(self) -> None:
        """Closing before the trailer drops the connection: the gateway then cancels the query."""
        self._resp = None
        await self._t.aclose()
