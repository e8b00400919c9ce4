"""Which database and which path a run uses: SQLGATE_SUITE_DB (sqlite|postgres|mysql) and
SQLGATE_SUITE_MODE (direct|sqlgate). One scenario per run, named after the mode, so the pass counts of
a direct run and a sqlgate run on the same database compare the same tests."""
from __future__ import annotations

import os
import tempfile
import urllib.parse
from typing import Any, Tuple, Type

DB = os.environ.get("SQLGATE_SUITE_DB", "sqlite")
MODE = os.environ.get("SQLGATE_SUITE_MODE", "sqlgate")
GATEWAY_URL = os.environ.get("SQLGATE_URL", "http://127.0.0.1:18500")
GATEWAY_TOKEN = os.environ.get("SQLGATE_TOKEN") or None
# The gateway's backend name for each database kind (the CI config names them so).
GATEWAY_BACKEND = os.environ.get("SQLGATE_SUITE_BACKEND", {"sqlite": "sqlite", "postgres": "postgres", "mysql": "mariadb"}[DB])
SQLITE_DIRECT_FILE = os.environ.get(
    "SQLGATE_SUITE_SQLITE_FILE", os.path.join(tempfile.gettempdir(), f"sqlgate_suite_direct_{os.getpid()}.sqlite")
)


def _guard_local_sqlite() -> None:
    """Through sqlgate, no test may open a local SQLite database: each sqlite3.connect call is recorded
    (with the test that made it) in SQLGATE_SUITE_GUARD_FILE, which scripts/suite.py reports."""
    guard = os.environ.get("SQLGATE_SUITE_GUARD_FILE")
    if MODE != "sqlgate" or not guard:
        return
    import sqlite3

    original = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> Any:
        with open(guard, "a", encoding="utf-8") as f:
            f.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?')}\t{args[0] if args else kwargs.get('database')}\n")
        return original(*args, **kwargs)

    sqlite3.connect = recording_connect  # type: ignore[assignment]


_guard_local_sqlite()


def scenario_names() -> list:
    return [MODE]


def _url(env: str, default: str) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(os.environ.get(env, default))


def get_scenario(_name: str, asynchronous: bool = False) -> Tuple[Type[Any], Any]:
    """(backend class, connection config) for this run; ``asynchronous`` gives the async backend class of
    the same path (AsyncSqlgate… or the ORM's own AsyncSQLiteBackend / AsyncPostgresBackend /
    AsyncMySQLBackend) with the same config."""
    if MODE == "sqlgate":
        from rhosocial.activerecord.backend.impl.sqlgate import backend_classes

        backend_cls, config_cls = backend_classes({"mysql": "mysql"}.get(DB, DB), asynchronous)
        return backend_cls, config_cls(
            sqlgate_url=GATEWAY_URL, sqlgate_token=GATEWAY_TOKEN, sqlgate_backend=GATEWAY_BACKEND
        )
    if DB == "sqlite":
        from rhosocial.activerecord.backend.impl.sqlite.backend import AsyncSQLiteBackend, SQLiteBackend
        from rhosocial.activerecord.backend.impl.sqlite.config import SQLiteConnectionConfig

        return (AsyncSQLiteBackend if asynchronous else SQLiteBackend), SQLiteConnectionConfig(database=SQLITE_DIRECT_FILE)
    if DB == "postgres":
        from rhosocial.activerecord.backend.impl.postgres.backend import AsyncPostgresBackend, PostgresBackend
        from rhosocial.activerecord.backend.impl.postgres.config import PostgresConnectionConfig

        u = _url("SQLGATE_TEST_PG_URL", "postgres://sqlgate@127.0.0.1:5432/test")
        return (AsyncPostgresBackend if asynchronous else PostgresBackend), PostgresConnectionConfig(
            host=u.hostname, port=u.port or 5432, database=u.path.lstrip("/"), username=u.username,
            password=u.password,
        )
    from rhosocial.activerecord.backend.impl.mysql.async_backend import AsyncMySQLBackend
    from rhosocial.activerecord.backend.impl.mysql.backend import MySQLBackend
    from rhosocial.activerecord.backend.impl.mysql.config import MySQLConnectionConfig

    u = _url("SQLGATE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
    # ssl_disabled for the async driver: mysql-connector's aio connect unpacks the TLS cipher of a plain
    # TCP connection (None) and fails on a server without TLS, such as the CI's MariaDB.
    return (AsyncMySQLBackend if asynchronous else MySQLBackend), MySQLConnectionConfig(
        host=u.hostname, port=u.port or 3306, database=u.path.lstrip("/"), username=u.username,
        password=u.password or "", ssl_disabled=True if asynchronous else None,
    )
