"""HTTP transport to a sqlgate server: one keep-alive connection, JSON in and out, errors mapped once.

The standard library's ``http.client`` is used on purpose: one ORM connection is one pinned sqlgate
session, so there is exactly one HTTP connection to keep alive and nothing for a pool to do; it adds no
dependency next to the ORM, and it costs less per request than httpx (measured by bench/orm_bench.py as
the per-statement overhead, which is what the ORM pays on every query).
"""
from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from rhosocial.activerecord.backend.errors import ConnectionError as OrmConnectionError


@dataclass
class GatewayError(Exception):
    """A sqlgate error response: ``{"error": {...}}`` with the HTTP status."""

    status: int
    body: Dict[str, Any]

    @property
    def code(self) -> str:
        return str(self.body.get("code", ""))

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))

    def __str__(self) -> str:  # what the ORM's exceptions will carry
        sql_state = self.body.get("sqlState")
        suffix = f" (sqlState {sql_state})" if sql_state else ""
        return f"{self.code}: {self.message}{suffix}"


class TransportError(OrmConnectionError):
    """The server could not be reached or went away before answering.

    ``sent`` says whether the request may have reached the server: only a request that was not sent can be
    retried without the risk of running it twice.
    """

    def __init__(self, message: str, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class HttpTransport:
    """One persistent HTTP/1.1 connection to the gateway."""

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
        self._headers = {"accept": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._conn: Optional[http.client.HTTPConnection] = None
        self._last_used = 0.0
        # The server's keep-alive idle timeout (its `Keep-Alive: timeout=N` header); Node's default is 5 s.
        self._keep_alive = 5.0

    def _open(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self._connect_timeout)
        try:
            conn.connect()
        except OSError as e:
            raise TransportError(f"cannot reach sqlgate at {self._host}:{self._port}: {e}", sent=False) from e
        assert conn.sock is not None
        conn.sock.settimeout(self._timeout)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Sends one request; returns the parsed JSON body of a 2xx, raises GatewayError otherwise.

        A keep-alive connection the server has closed while idle fails on send: that request never reached
        the server, so it is sent once more on a new connection. A failure after the request was sent is a
        TransportError with ``sent=True`` and is never repeated here.
        """
        payload = None if body is None else json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        # A body-less request (DELETE, GET) must not claim a JSON body: the gateway answers that with 400.
        headers = self._headers if payload is None else {**self._headers, "content-type": "application/json"}
        for attempt in (0, 1):
            if self._conn is not None and time.monotonic() - self._last_used > self._keep_alive - 0.5:
                # The server may be closing this idle connection right now; a request racing that close
                # could be lost after it was sent, so start a new connection instead of finding out.
                self.close()
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._open()
            conn = self._conn
            try:
                conn.request(method, self._prefix + path, body=payload, headers=headers)
            except OSError as e:
                self.close()
                if reused and attempt == 0:
                    continue
                raise TransportError(f"sqlgate request failed: {e}", sent=False) from e
            try:
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.close()
                raise TransportError(f"sqlgate connection lost: {e}", sent=True) from e
            self._last_used = time.monotonic()
            if resp.will_close:
                self.close()
            else:
                ka = resp.getheader("keep-alive")
                m = _KEEP_ALIVE_TIMEOUT.search(ka) if ka else None
                if m:
                    self._keep_alive = float(m.group(1))
            try:
                parsed = json.loads(data) if data else None
            except ValueError as e:
                raise TransportError(f"sqlgate answered {resp.status} with a non-JSON body", sent=True) from e
            if 200 <= resp.status < 300:
                return parsed
            err = parsed.get("error") if isinstance(parsed, dict) else None
            raise GatewayError(resp.status, err if isinstance(err, dict) else {"code": "HTTP", "message": str(resp.status)})
        raise AssertionError("unreachable")


    def open_stream(self, path: str, body: Any) -> http.client.HTTPResponse:
        """POSTs ``body`` asking for NDJSON and returns the open response (200) for the caller to read line
        by line; an error answer is raised as GatewayError. The connection is this stream's alone."""
        self.close()
        self._conn = self._open()
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        headers = {**self._headers, "content-type": "application/json", "accept": "application/x-ndjson"}
        try:
            self._conn.request("POST", self._prefix + path, body=payload, headers=headers)
            resp = self._conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise TransportError(f"sqlgate stream request failed: {e}", sent=True) from e
        if resp.status != 200:
            data = resp.read()
            self.close()
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            err = parsed.get("error") if isinstance(parsed, dict) else None
            raise GatewayError(resp.status, err if isinstance(err, dict) else {"code": "HTTP", "message": str(resp.status)})
        return resp


_KEEP_ALIVE_TIMEOUT = re.compile(r"timeout=(\d+)")

TransportFactory = Callable[[], HttpTransport]
