"""Database errors through sqlgate raise the ORM exception its direct backend raises for the same failure."""
from __future__ import annotations

import pytest

from conftest import DDL, DML, DQL, ph
from rhosocial.activerecord.backend import errors as orm

FAILURES = {
    "unique": "INSERT INTO {t} (id, email, name) VALUES (1, 'a@example.com', 'again')",
    "not_null": "INSERT INTO {t} (id, email, name) VALUES (2, 'b@example.com', NULL)",
    "syntax": "INSERT INTO {t} VALUES VALUES (1)",
    "no_table": "INSERT INTO {t}_missing (id) VALUES (1)",
    "no_column": "UPDATE {t} SET nope = 1",
    "check": "INSERT INTO {t} (id, email, name, qty) VALUES (3, 'c@example.com', 'c', -1)",
}


def failure(backend, sql):
    with pytest.raises(orm.DatabaseError) as info:
        backend.execute(sql, options=DML)
    return info.value


@pytest.fixture
def seeded(kind, direct, table):
    direct.execute(
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, "
        f"name VARCHAR(100) NOT NULL, qty INTEGER CHECK (qty >= 0))",
        options=DDL,
    )
    direct.execute(f"INSERT INTO {table} (id, email, name) VALUES (1, 'a@example.com', 'first')", options=DML)
    return table


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_same_exception_class_as_direct(case, remote, direct, seeded):
    sql = FAILURES[case].format(t=seeded)
    via_gateway = failure(remote, sql)
    via_direct = failure(direct, sql)
    assert type(via_gateway) is type(via_direct), f"{case}: {via_gateway!r} vs direct {via_direct!r}"
    if case in ("unique", "not_null", "check"):
        assert isinstance(via_gateway, orm.IntegrityError)
    # The gateway's coded error travels with the exception, for logs and retries.
    assert via_gateway.sqlgate["code"]


def test_unique_violation_through_the_model_leaves_one_row(kind, remote, direct, seeded):
    p = ph(kind)
    with pytest.raises(orm.IntegrityError):
        remote.execute(f"INSERT INTO {seeded} (id, email, name) VALUES ({p}, {p}, {p})", (9, "a@example.com", "x"))
    [row] = direct.execute(f"SELECT COUNT(*) AS n FROM {seeded}", options=DQL).data
    assert row["n"] == 1


def test_error_inside_a_transaction_keeps_the_session_usable(kind, remote, direct, seeded):
    """After a failed statement and the rollback, the same backend (same session) works on."""
    tm = remote.transaction_manager
    tm.begin()
    with pytest.raises(orm.IntegrityError):
        remote.execute(FAILURES["unique"].format(t=seeded), options=DML)
    tm.rollback()
    remote.execute(f"INSERT INTO {seeded} (id, email, name) VALUES (5, 'e@example.com', 'e')", options=DML)
    rows = direct.execute(f"SELECT id FROM {seeded} ORDER BY id", options=DQL).data
    assert [r["id"] for r in rows] == [1, 5]
