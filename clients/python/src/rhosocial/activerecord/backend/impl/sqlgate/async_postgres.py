"""Async PostgreSQL behind sqlgate: the ORM's AsyncPostgresBackend with psycopg's AsyncConnection replaced
by a sqlgate session (``%s`` -> ``$n`` with psycopg's parameter types, as the sync backend)."""
from __future__ import annotations

from typing import Optional, Tuple

from rhosocial.activerecord.backend.impl.postgres.backend import AsyncPostgresBackend

from .async_common import AsyncSqlgateBackendMixin
from .postgres import SqlgatePostgresConfig


class AsyncSqlgatePostgresBackend(AsyncSqlgateBackendMixin, AsyncPostgresBackend):
    SQLGATE_FLAVOR = "postgres"
    SQLGATE_DRIVERS = ("postgres",)
    SQLGATE_PLACEHOLDERS = "pyformat"

    async def get_server_version(self) -> Optional[Tuple[int, int, int]]:
        """The real server's version as the gateway reports it (GET /v1/backends)."""
        await self._sqlgate_backend_info_async()
        return self._sqlgate_version()


__all__ = ["AsyncSqlgatePostgresBackend", "SqlgatePostgresConfig"]
