"""Fixtures: one real gateway (built from this repository) for the whole run, an ORM backend through it
per database kind, and the ORM's own direct backend on the same database to compare with.

PostgreSQL and MariaDB come from SQLGATE_TEST_PG_URL / SQLGATE_TEST_MYSQL_URL; one that is not reachable is
skipped with its reason locally and fails the run when CI is set (support/gateway.py).
"""
from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from gateway import NAMES, Gateway, start_gateway  # noqa: E402
from direct import direct_backend  # noqa: E402

from rhosocial.activerecord.backend.impl.sqlgate import SqlgateConnectionConfig, resolve_backend  # noqa: E402
from rhosocial.activerecord.backend.options import ExecutionOptions  # noqa: E402
from rhosocial.activerecord.backend.schema import StatementType  # noqa: E402

KINDS = ["sqlite", "postgres", "mysql"]
DQL = ExecutionOptions(stmt_type=StatementType.DQL)
DDL = ExecutionOptions(stmt_type=StatementType.DDL)
DML = ExecutionOptions(stmt_type=StatementType.DML)

# The ORM logs every statement at DEBUG on the root logger; keep test output readable.
logging.getLogger().setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def gateway() -> Iterator[Gateway]:
    gw = start_gateway()
    for kind, reason in gw.skipped.items():
        print(f"[skip] {reason}: its tests are skipped", file=sys.stderr)
    yield gw
    gw.stop()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, gateway: Gateway) -> str:
    k = request.param
    if k in gateway.skipped:
        pytest.skip(gateway.skipped[k])
    return k


def connect(gateway: Gateway, kind: str, **options: Any) -> Any:
    """An ORM backend through the gateway, connected and adapted to the real server version."""
    cls, cfg = resolve_backend(SqlgateConnectionConfig(sqlgate_url=gateway.url, sqlgate_backend=NAMES[kind], **options))
    backend = cls(connection_config=cfg)
    backend.connect()
    backend.introspect_and_adapt()
    return backend


@pytest.fixture
def remote(gateway: Gateway, kind: str) -> Iterator[Any]:
    backend = connect(gateway, kind)
    yield backend
    backend.disconnect()


@pytest.fixture
def direct(gateway: Gateway, kind: str) -> Iterator[Any]:
    """The ORM's own backend (sqlite3 / psycopg / mysql-connector) on the database the gateway serves."""
    backend = direct_backend(kind, sqlite_file=str(gateway.dir / "gateway.sqlite"))
    yield backend
    backend.disconnect()


@pytest.fixture
def table(kind: str, direct: Any) -> Iterator[str]:
    """A table name no other test uses; dropped afterwards."""
    name = f"py_{uuid.uuid4().hex[:10]}"
    yield name
    direct.execute(f"DROP TABLE IF EXISTS {name}", options=DDL)


def ph(kind: str) -> str:
    """The placeholder the ORM's dialect for this kind writes."""
    return "?" if kind == "sqlite" else "%s"


def rows(backend: Any, sql: str, params: Tuple[Any, ...] = ()) -> list:
    return backend.execute(sql, params or None, options=DQL).data or []
