"""A streaming DQL cursor for ``execute_batch_dql``: the result as NDJSON, read a page at a time.

``POST /v1/execute`` with ``Accept: application/x-ndjson`` (docs/api.md, "Streaming results") sends the
columns, one line per row, then a trailer; the gateway reads rows from the database only as fast as we read
lines, so a large result never sits whole in either process.

The stream runs on its own HTTP connection, in **autocommit outside the session**: a session serves one
request at a time, so a stream on it would block every statement the caller sends while iterating (saving
each row, say) until the stream ended, and the caller would wait for itself. Outside a transaction the
session holds nothing a fresh autocommit statement would not see, so the rows are the same. Inside a
transaction the backend uses the session's ordinary, fully fetched cursor instead (the transaction's view).
"""
from __future__ import annotations

import http.client
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rhosocial.activerecord.backend import errors as orm

from .dbapi import SessionConnection
from .errors import to_orm_error
from .transport import GatewayError, HttpTransport, TransportError
from .values import decode_rows, encode_params, sqlite_columns


class StreamCursor:
    """DB-API-shaped cursor over one NDJSON stream; rows are decoded page by page as fetched."""

    arraysize = 1000

    def __init__(self, conn: SessionConnection, transport: HttpTransport) -> None:
        self._conn = conn
        self._t = transport
        self._resp: Optional[http.client.HTTPResponse] = None
        self._columns: List[Dict[str, Any]] = []
        self._done = False
        self.description: Optional[List[Tuple[Any, ...]]] = None
        self.rowcount = -1
        self.lastrowid: Optional[int] = None

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> "StreamCursor":
        options: Dict[str, Any] = {"rowMode": "array"}
        if self._conn.flavor == "sqlite":
            options["valueMode"] = "raw"
        body = {
            "backend": self._conn.backend, "sql": self._conn._sql(sql, [params or []]),
            "params": encode_params(params), "options": options,
        }
        try:
            self._resp = self._t.open_stream("/v1/execute", body)
        except GatewayError as e:
            raise to_orm_error(e, self._conn.flavor) from e
        head = self._line()
        if not isinstance(head, dict) or "columns" not in head:
            self._fail(head)
        self._columns = head["columns"]
        detect = self._conn.detect_types
        names = [n for n, _ in sqlite_columns(self._columns, detect)] if detect else [c["name"] for c in self._columns]
        self.description = [
            (n, c.get("dbType"), None, None, None, None, c.get("nullable")) for n, c in zip(names, self._columns)
        ] or None
        self.rowcount = 0
        return self

    def _line(self) -> Any:
        assert self._resp is not None
        try:
            raw = self._resp.readline()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise orm.ConnectionError(f"sqlgate stream lost: {e}") from e
        if not raw:
            self.close()
            raise orm.ConnectionError("sqlgate stream ended without its trailer (cut off)")
        return json.loads(raw)

    def _fail(self, line: Any) -> None:
        self.close()
        err = line.get("error") if isinstance(line, dict) else None
        if isinstance(err, dict):
            raise to_orm_error(GatewayError(200, err), self._conn.flavor)
        raise orm.DatabaseError(f"sqlgate stream: unexpected line {str(line)[:200]}")

    def fetchmany(self, size: Optional[int] = None) -> List[tuple]:
        n = size or self.arraysize
        raw: List[List[Any]] = []
        while not self._done and len(raw) < n:
            line = self._line()
            if isinstance(line, list):
                raw.append(line)
                continue
            if isinstance(line, dict) and line.get("done") is True:
                if int(line.get("rowCount", -1)) != self.rowcount + len(raw):
                    self._fail({"error": {"code": "INTERNAL", "message": "stream row count mismatch"}})
                self._done = True
                self.close()
                break
            self._fail(line)
        self.rowcount += len(raw)
        return decode_rows(self._conn.flavor, self._columns, raw, self._conn.detect_types)

    def fetchall(self) -> List[tuple]:
        out: List[tuple] = []
        while not self._done:
            out.extend(self.fetchmany(self.arraysize))
        return out

    def fetchone(self) -> Optional[tuple]:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def close(self) -> None:
        """Closing before the trailer drops the connection: the gateway then cancels the query."""
        if self._resp is not None:
            self._resp = None
        self._t.close()


__all__ = ["StreamCursor", "TransportError"]
