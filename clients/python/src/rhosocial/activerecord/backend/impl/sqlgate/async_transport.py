"""Async HTTP transport to a sqlgate server: one keep-alive HTTP/1.1 connection on asyncio streams.

The async twin of :mod:`.transport`, with the same rules: JSON in and out, a ``GatewayError`` for an error
answer, a ``TransportError`` saying whether the request may have reached the server, and a retry only for
a request that was never sent (a kept-alive connection the server closed while idle). Like the sync side it
uses the standard library only (``asyncio.open_connection``): one ORM connection is one pinned session, so
there is one HTTP connection to keep and nothing for a client pool (httpx's AsyncClient) to do. The
gateway answers JSON with ``Content-Length`` and streams NDJSON chunked; both are read here.
"""
from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from .transport import _KEEP_ALIVE_TIMEOUT, GatewayError, TransportError

_READ_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, EOFError)


def _error_body(status: int, data: bytes) -> GatewayError:
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    return GatewayError(status, err if isinstance(err, dict) else {"code": "HTTP", "message": str(status)})


class AsyncResponse:
    """An HTTP response whose head has been read; the body is read from the connection on demand."""

    def __init__(self, reader: asyncio.StreamReader, status: int, headers: Dict[str, str]) -> None:
        self._reader = reader
        self.status = status
        self.headers = headers
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._remaining: Optional[int] = int(length) if length is not None and not self._chunked else None
        self._chunk_left = 0
        self._eof = False
        self._buffer = b""
        self.will_close = headers.get("connection", "").lower() == "close" or (
            not self._chunked and self._remaining is None
        )

    async def _chunk(self) -> bytes:
        """The next piece of the body (b"" at its end)."""
        if self._eof:
            return b""
        if self._chunked:
            if self._chunk_left == 0:
                size_line = await self._reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await self._reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    self._eof = True
                    return b""
                self._chunk_left = size
            data = await self._reader.read(min(self._chunk_left, 65536))
            if not data:
                raise EOFError("connection closed inside a chunk")
            self._chunk_left -= len(data)
            if self._chunk_left == 0:
                await self._reader.readexactly(2)
            return data
        if self._remaining is not None:
            if self._remaining == 0:
                self._eof = True
                return b""
            data = await self._reader.read(min(self._remaining, 65536))
            if not data:
                raise EOFError("connection closed before the body's end")
            self._remaining -= len(data)
            return data
        data = await self._reader.read(65536)
        if not data:
            self._eof = True
        return data

    async def read(self) -> bytes:
        parts: List[bytes] = [self._buffer]
        self._buffer = b""
        while True:
            data = await self._chunk()
            if not data:
                return b"".join(parts)
            parts.append(data)

    async def readline(self) -> bytes:
        """One line of the body including its newline; b"" at the end."""
        while b"\n" not in self._buffer:
            data = await self._chunk()
            if not data:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"


class AsyncHttpTransport:
    """One persistent HTTP/1.1 connection to the gateway, used by one coroutine at a time."""

    def __init__(self, url: str, token: Optional[str], timeout: float, connect_timeout: float) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"sqlgate url must be http(s)://host[:port], got {url!r}")
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port or (443 if self._https else 80)
        self._prefix = parsed.path.rstrip("/")
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._headers = {"host": f"{self._host}:{self._port}", "accept": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._conn: Optional[Tuple[asyncio.StreamReader, asyncio.StreamWriter]] = None
        self._last_used = 0.0
        self._keep_alive = 5.0  # the server's `Keep-Alive: timeout=N`; Node's default is 5 s
        # A session answers one request at a time; so does this connection (concurrent callers queue).
        self._lock = asyncio.Lock()

    async def _open(self) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self._host, self._port, ssl=ssl.create_default_context() if self._https else None
                ),
                self._connect_timeout,
            )
        except (OSError, asyncio.TimeoutError) as e:
            raise TransportError(f"cannot reach sqlgate at {self._host}:{self._port}: {e!r}", sent=False) from e
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn[1].close()
            try:
                await conn[1].wait_closed()
            except OSError:
                pass

    def _head(self, method: str, path: str, payload: Optional[bytes], accept: Optional[str]) -> bytes:
        headers = dict(self._headers)
        if accept:
            headers["accept"] = accept
        if payload is not None:
            # A body-less request must not claim a JSON body: the gateway answers that with 400.
            headers["content-type"] = "application/json"
            headers["content-length"] = str(len(payload))
        lines = [f"{method} {self._prefix}{path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (payload or b"")

    async def _response_head(self, reader: asyncio.StreamReader) -> AsyncResponse:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
        headers: Dict[str, str] = {}
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return AsyncResponse(reader, int(parts[1]), headers)

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Sends one request; returns the parsed JSON body of a 2xx, raises GatewayError otherwise.

        A request that failed on a reused connection before it was sent is sent once more on a new one;
        a failure after it was sent is a TransportError with ``sent=True`` and is never repeated here.
        """
        payload = None if body is None else json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        async with self._lock:
            for attempt in (0, 1):
                if self._conn is not None and time.monotonic() - self._last_used > self._keep_alive - 0.5:
                    await self.aclose()  # the server may be closing it right now: do not race that close
                reused = self._conn is not None
                if self._conn is None:
                    self._conn = await self._open()
                reader, writer = self._conn
                try:
                    if reused and reader.at_eof():
                        raise ConnectionResetError("kept-alive connection closed by the server")
                    writer.write(self._head(method, path, payload, None))
                    await writer.drain()
                except OSError as e:
                    await self.aclose()
                    if reused and attempt == 0:
                        continue
                    raise TransportError(f"sqlgate request failed: {e!r}", sent=False) from e
                try:
                    resp = await asyncio.wait_for(self._response_head(reader), self._timeout)
                    data = await asyncio.wait_for(resp.read(), self._timeout)
                except (*_READ_ERRORS, asyncio.TimeoutError) as e:
                    await self.aclose()
                    raise TransportError(f"sqlgate connection lost: {e!r}", sent=True) from e
                self._last_used = time.monotonic()
                if resp.will_close:
                    await self.aclose()
                else:
                    m = _KEEP_ALIVE_TIMEOUT.search(resp.headers.get("keep-alive", ""))
                    if m:
                        self._keep_alive = float(m.group(1))
                try:
                    parsed = json.loads(data) if data else None
                except ValueError as e:
                    raise TransportError(f"sqlgate answered {resp.status} with a non-JSON body", sent=True) from e
                if 200 <= resp.status < 300:
                    return parsed
                raise _error_body(resp.status, data)
        raise AssertionError("unreachable")

    async def open_stream(self, path: str, body: Any) -> AsyncResponse:
        """POSTs ``body`` asking for NDJSON and returns the open 200 response for the caller to read line
        by line (the connection is this stream's alone); an error answer is raised as GatewayError."""
        await self.aclose()
        self._conn = await self._open()
        reader, writer = self._conn
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        try:
            writer.write(self._head("POST", path, payload, "application/x-ndjson"))
            await writer.drain()
            resp = await asyncio.wait_for(self._response_head(reader), self._timeout)
        except (*_READ_ERRORS, asyncio.TimeoutError) as e:
            await self.aclose()
            raise TransportError(f"sqlgate stream request failed: {e!r}", sent=True) from e
        if resp.status != 200:
            try:
                data = await asyncio.wait_for(resp.read(), self._timeout)
            except (*_READ_ERRORS, asyncio.TimeoutError):
                data = b""
            await self.aclose()
            raise _error_body(resp.status, data)
        return resp

    @property
    def timeout(self) -> float:
        """Seconds to wait for one response (or one stream line)."""
        return self._timeout
