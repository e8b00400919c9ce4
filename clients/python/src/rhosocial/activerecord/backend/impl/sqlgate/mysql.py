"""MySQL / MariaDB behind sqlgate, with the ORM's own MySQL dialect and adapters on the client."""
from __future__ import annotations

from dataclasses import dataclass

from rhosocial.activerecord.backend.impl.mysql.backend import MySQLBackend
from rhosocial.activerecord.backend.impl.mysql.config import MySQLConnectionConfig

from .common import SqlgateBackendMixin
from .config import SqlgateOptions


@dataclass
class SqlgateMySQLConfig(MySQLConnectionConfig, SqlgateOptions):
    """MySQLConnectionConfig whose host/port/user are the gateway's business."""


class SqlgateMySQLBackend(SqlgateBackendMixin, MySQLBackend):
    """The ORM's MySQLBackend with mysql-connector replaced by a sqlgate session (``%s`` -> ``?``)."""

    SQLGATE_FLAVOR = "mysql"
    SQLGATE_DRIVERS = ("mysql",)
    SQLGATE_PLACEHOLDERS = "pyformat"

    def introspect_and_adapt(self) -> None:
        # The ORM's MySQLBackend rebuilds its dialect when the version differs from what it assumed.
        super().introspect_and_adapt()

    def _fetch_concurrency_hint(self) -> None:
        """Concurrency is the gateway pool's business."""
