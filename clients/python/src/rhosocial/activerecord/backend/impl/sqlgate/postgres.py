"""PostgreSQL behind sqlgate, with the ORM's own PostgreSQL dialect and adapters on the client."""
from __future__ import annotations

from dataclasses import dataclass

from rhosocial.activerecord.backend.impl.postgres.backend import PostgresBackend
from rhosocial.activerecord.backend.impl.postgres.config import PostgresConnectionConfig

from .common import SqlgateBackendMixin
from .config import SqlgateOptions


@dataclass
class SqlgatePostgresConfig(PostgresConnectionConfig, SqlgateOptions):
    """PostgresConnectionConfig whose host/port/user are the gateway's business."""


class SqlgatePostgresBackend(SqlgateBackendMixin, PostgresBackend):
    """The ORM's PostgresBackend with psycopg replaced by a sqlgate session (``%s`` -> ``$n``)."""

    SQLGATE_FLAVOR = "postgres"
    SQLGATE_DRIVERS = ("postgres",)
    SQLGATE_PLACEHOLDERS = "pyformat"
