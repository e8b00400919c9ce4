"""The ORM's own (direct) backends on the databases the gateway serves, for comparisons."""
from __future__ import annotations

import urllib.parse
from typing import Any

from gateway import MYSQL_URL, PG_URL


def direct_backend(kind: str, sqlite_file: str) -> Any:
    """A connected direct backend: sqlite3 on ``sqlite_file``, psycopg / mysql-connector on the test URLs."""
    if kind == "sqlite":
        from rhosocial.activerecord.backend.impl.sqlite.backend import SQLiteBackend
        from rhosocial.activerecord.backend.impl.sqlite.config import SQLiteConnectionConfig

        backend: Any = SQLiteBackend(connection_config=SQLiteConnectionConfig(database=sqlite_file))
    elif kind == "postgres":
        from rhosocial.activerecord.backend.impl.postgres.backend import PostgresBackend
        from rhosocial.activerecord.backend.impl.postgres.config import PostgresConnectionConfig

        u = urllib.parse.urlsplit(PG_URL)
        backend = PostgresBackend(connection_config=PostgresConnectionConfig(
            host=u.hostname, port=u.port or 5432, database=u.path.lstrip("/"), username=u.username,
            password=u.password,
        ))
    else:
        from rhosocial.activerecord.backend.impl.mysql.backend import MySQLBackend
        from rhosocial.activerecord.backend.impl.mysql.config import MySQLConnectionConfig

        u = urllib.parse.urlsplit(MYSQL_URL)
        backend = MySQLBackend(connection_config=MySQLConnectionConfig(
            host=u.hostname, port=u.port or 3306, database=u.path.lstrip("/"), username=u.username,
            password=u.password or "",
        ))
    backend.connect()
    backend.introspect_and_adapt()
    return backend
