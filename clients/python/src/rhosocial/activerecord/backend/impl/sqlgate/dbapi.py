"""A small DB-API-shaped connection over one sqlgate session.

The ORM's backends talk to a DB-API connection (``cursor()``, ``execute``, ``fetchall``, ``description``,
``rowcount``, ``lastrowid``, ``commit``). This module gives them one whose every statement is a request on
a *pinned* sqlgate session opened with ``"begin": false``: the ORM keeps sending BEGIN / SAVEPOINT / COMMIT
as SQL, exactly as it does to a local driver, and the gateway keeps the connection for us in between.
"""
from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from rhosocial.activerecord.backend import errors as orm

from .errors import to_orm_error
from .transport import GatewayError, HttpTransport, TransportError
from .values import decode_rows, encode_params, sqlite_columns

# psycopg and mysql-connector take `%s` placeholders and turn them into the server's own client-side,
# whether or not a `%s` sits inside a string literal; `%%` is a literal percent (psycopg). We do the same.
_PYFORMAT = re.compile(r"%%|%s")


def pg_type(v: Any) -> Optional[str]:
    """The type psycopg binds a Python value with (None: "unknown", for the server to infer).

    psycopg sends typed parameters; the gateway's are untyped, which PostgreSQL resolves to text where the
    context says nothing (``CASE WHEN … THEN $1``, ``SELECT $1 + 1``). A cast to psycopg's type makes the
    server infer exactly what it infers for the direct driver.
    """
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        if -(2**15) <= v < 2**15:
            return "int2"
        if -(2**31) <= v < 2**31:
            return "int4"
        return "int8" if -(2**63) <= v < 2**63 else "numeric"
    if isinstance(v, float):
        return "float8"
    if isinstance(v, decimal.Decimal):
        return "numeric"
    if isinstance(v, dt.datetime):
        return "timestamp" if v.tzinfo is None or v.utcoffset() is None else "timestamptz"
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, dt.time):
        return "time" if v.tzinfo is None else "timetz"
    if isinstance(v, uuid.UUID):
        return "uuid"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "bytea"
    if isinstance(v, dt.timedelta):
        return "interval"
    return None


_INTS = ("int2", "int4", "int8", "numeric")

# A single-quoted literal (skipped as it is) or the double-quoted "*" the ORM writes in COUNT("*").
_DQS_STAR = re.compile(r"'(?:[^']|'')*'|\"\*\"")


def sqlite_dqs_star(sql: str) -> str:
    """``"*"`` -> ``'*'`` outside string literals, on SQLite.

    The sqlite3 module's SQLite accepts double-quoted strings (DQS), so the ORM's ``COUNT("*")`` there is
    ``COUNT('*')``. The gateway's better-sqlite3 is built with SQLITE_DQS=0 and has no runtime switch, so
    ``"*"`` would be an unknown column. No table has a column named ``*``; this makes the one spelling the
    ORM emits mean what it means for the direct backend. Other double-quoted strings stay identifiers.
    """
    if '"*"' not in sql:
        return sql
    return _DQS_STAR.sub(lambda m: "'*'" if m.group(0) == '"*"' else m.group(0), sql)


def bulk_casts(param_sets: Sequence[Sequence[Any]]) -> List[Optional[str]]:
    """One cast per position for many parameter sets: the type every non-NULL value shares, the widest
    integer type when they are integers of different sizes, else none (the server infers it)."""
    width = max((len(p) for p in param_sets), default=0)
    casts: List[Optional[str]] = []
    for i in range(width):
        seen = {pg_type(p[i]) for p in param_sets if i < len(p) and p[i] is not None}
        if len(seen) == 1:
            casts.append(seen.pop())
        elif seen and seen <= set(_INTS):
            casts.append(max(seen, key=_INTS.index))
        else:
            casts.append(None)
    return casts


def convert_placeholders(sql: str, style: str, casts: Optional[Sequence[Optional[str]]] = None) -> str:
    """`%s` placeholders -> `$n` (style "dollar", with ``casts[n-1]`` when given) or `?` (style
    "question"); `%%` -> `%`."""
    n = 0
    values = list(casts or [])

    def sub(m: "re.Match[str]") -> str:
        nonlocal n
        if m.group(0) == "%%":
            return "%"
        n += 1
        if style != "dollar":
            return "?"
        cast = values[n - 1] if n <= len(values) else None
        return f"${n}::{cast}" if cast else f"${n}"

    return _PYFORMAT.sub(sub, sql)


def _rowid(last: Any) -> Optional[int]:
    """DB-API ``lastrowid``: an integer row id, or None. The gateway's lastInsertId on PostgreSQL is the
    first RETURNING value, which may be a UUID or text key; a driver's lastrowid is never that."""
    if isinstance(last, int):
        return last
    if isinstance(last, str) and last.lstrip("-").isdigit():
        return int(last)
    return None


class SessionConnection:
    """One ORM connection = one sqlgate session (a pinned database connection)."""

    def __init__(
        self,
        transport: HttpTransport,
        backend: str,
        flavor: str,
        placeholder_style: Optional[str],
        in_transaction: Callable[[], bool],
        idle_timeout_ms: Optional[int] = None,
        detect_types: int = 0,
        scratch: bool = False,
    ) -> None:
        self._t = transport
        self.backend = backend
        self.flavor = flavor
        self._style = placeholder_style  # None: the ORM's SQL already uses the server's placeholders
        self._in_tx = in_transaction
        self._idle_timeout_ms = idle_timeout_ms
        self._scratch = scratch
        #: SQLite: sqlite3's ``detect_types`` flags, applied to results as the sqlite3 module would.
        self.detect_types = detect_types
        self.session_id: Optional[str] = None
        self.closed = False
        self.broken = False
        self._open_session()

    # --- session lifecycle ---------------------------------------------------------------------------

    def session_body(self) -> Dict[str, Any]:
        """The POST /v1/sessions request: pinned, no implicit BEGIN (the ORM sends its own)."""
        body: Dict[str, Any] = {"backend": self.backend, "begin": False}
        if self._idle_timeout_ms:
            body["idleTimeoutMs"] = self._idle_timeout_ms
        if self._scratch:
            body["scratch"] = True
        return body

    def _open_session(self) -> None:
        try:
            answer = self._t.request("POST", "/v1/sessions", self.session_body())
        except GatewayError as e:
            raise to_orm_error(e, self.flavor) from e
        self.session_id = answer["id"]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        sid, self.session_id = self.session_id, None
        try:
            if sid:
                self._t.request("DELETE", f"/v1/sessions/{sid}")
        except (GatewayError, TransportError):
            pass  # gone already: the gateway rolls back and releases an abandoned session itself
        finally:
            self._t.close()

    def is_connected(self) -> bool:
        return not self.closed and not self.broken

    # --- DB-API surface the ORM backends use ---------------------------------------------------------

    def cursor(self) -> "SessionCursor":
        return SessionCursor(self)

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> "SessionCursor":
        cur = self.cursor()
        cur.execute(sql, params)
        return cur

    def commit(self) -> None:
        """The ORM sends COMMIT as SQL; autocommit statements are committed by the server already."""

    def rollback(self) -> None:
        """As for commit: transaction control arrives as SQL."""

    # --- requests -------------------------------------------------------------------------------------

    def _sql(self, sql: str, param_sets: Sequence[Sequence[Any]]) -> str:
        if self.flavor == "sqlite":
            sql = sqlite_dqs_star(sql)
        if not self._style or not any(param_sets):
            return sql
        return convert_placeholders(sql, self._style, bulk_casts(param_sets))

    def run(self, path: str, body: Dict[str, Any]) -> Any:
        """POSTs to the session; reopens an expired session when that cannot lose work.

        Outside a transaction the session holds nothing (autocommit), so after SESSION_EXPIRED a new one
        is opened and the statement sent again: the expired session never ran it. Inside a transaction the
        gateway has rolled that transaction back; that is a TransactionError, never a silent retry.
        """
        if self.closed:
            raise orm.ConnectionError("sqlgate connection is closed")
        for attempt in (0, 1):
            try:
                return self._t.request("POST", f"/v1/sessions/{self.session_id}{path}", body)
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
                        self._open_session()
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

    def _options(self) -> Dict[str, Any]:
        options: Dict[str, Any] = {"rowMode": "array"}
        if self.flavor == "sqlite":
            options["valueMode"] = "raw"
        return options

    def statement_body(self, sql: str, params: Optional[Sequence[Any]]) -> Dict[str, Any]:
        """The /execute request for one statement (shared with the async connection)."""
        return {"sql": self._sql(sql, [params or []]), "params": encode_params(params), "options": self._options()}

    def bulk_body(self, sql: str, param_sets: List[Sequence[Any]]) -> Dict[str, Any]:
        """The /batch request for one statement and many parameter sets."""
        return {
            "sql": self._sql(sql, param_sets),
            "paramSets": [encode_params(p) for p in param_sets],
            "options": self._options(),
        }

    def statement(self, sql: str, params: Optional[Sequence[Any]]) -> Dict[str, Any]:
        return self.run("/execute", self.statement_body(sql, params))

    def bulk(self, sql: str, param_sets: List[Sequence[Any]]) -> Dict[str, Any]:
        return self.run("/batch", self.bulk_body(sql, param_sets))


class SessionCursor:
    """A cursor over fully fetched results (the gateway answers with the whole result)."""

    arraysize = 1

    def __init__(self, conn: SessionConnection) -> None:
        self._conn = conn
        self._rows: List[tuple] = []
        self._pos = 0
        self.description: Optional[List[Tuple[Any, ...]]] = None
        self.rowcount = -1
        self.lastrowid: Optional[int] = None
        self.with_rows = False

    def __enter__(self) -> "SessionCursor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self):
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def close(self) -> None:
        self._rows = []

    def _load(self, result: Dict[str, Any]) -> None:
        columns = result.get("columns") or []
        detect = self._conn.detect_types
        self._rows = decode_rows(self._conn.flavor, columns, result.get("rows") or [], detect)
        self._pos = 0
        self.with_rows = bool(columns)
        names = [n for n, _ in sqlite_columns(columns, detect)] if detect else [c["name"] for c in columns]
        self.description = (
            [(n, c.get("dbType"), None, None, None, None, c.get("nullable")) for n, c in zip(names, columns)]
            if columns
            else None
        )
        affected = int(result.get("affectedRows") or 0)
        self.rowcount = affected if affected or not columns else int(result.get("rowCount") or 0)
        self.lastrowid = _rowid(result.get("lastInsertId"))

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> "SessionCursor":
        self._load(self._conn.statement(sql, params))
        return self

    def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> "SessionCursor":
        sets = list(seq_of_params)
        self._rows, self.description, self.lastrowid = [], None, None
        if not sets:
            self.rowcount = 0
            return self
        self._load_bulk(self._conn.bulk(sql, sets))
        return self

    def _load_bulk(self, answer: Dict[str, Any]) -> None:
        results = answer.get("results") or []
        self.rowcount = sum(int(r.get("affectedRows") or 0) for r in results)
        self.lastrowid = _rowid(results[-1].get("lastInsertId") if results else None)

    def executescript(self, script: str) -> "SessionCursor":
        raise orm.QueryError("executescript is not supported through sqlgate; send one statement at a time")

    def fetchone(self) -> Optional[tuple]:
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None) -> List[tuple]:
        n = size or self.arraysize
        rows = self._rows[self._pos : self._pos + n]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> List[tuple]:
        rows = self._rows[self._pos :]
        self._pos = len(self._rows)
        return rows

    def nextset(self) -> None:
        return None
