"""Async MySQL / MariaDB behind sqlgate: the ORM's AsyncMySQLBackend with mysql-connector's aio API replaced
by a sqlgate session (``%s`` -> ``?``, as the sync backend)."""
from __future__ import annotations

from typing import Tuple

from rhosocial.activerecord.backend.impl.mysql.async_backend import AsyncMySQLBackend

from .async_common import AsyncSqlgateBackendMixin
from .mysql import SqlgateMySQLConfig


class AsyncSqlgateMySQLBackend(AsyncSqlgateBackendMixin, AsyncMySQLBackend):
    SQLGATE_FLAVOR = "mysql"
    SQLGATE_DRIVERS = ("mysql",)
    SQLGATE_PLACEHOLDERS = "pyformat"

    async def get_server_version(self) -> Tuple[int, int, int]:
        """The real server's version as the gateway reports it (GET /v1/backends)."""
        await self._sqlgate_backend_info_async()
        return self._sqlgate_version()

    async def _fetch_concurrency_hint(self) -> None:
        """Concurrency is the gateway pool's business."""


__all__ = ["AsyncSqlgateMySQLBackend", "SqlgateMySQLConfig"]
