"""SQLite scratch sessions through the ORM backend (``sqlgate_scratch=True``): each ORM connection gets a
private database of its own on the gateway, empty at first, invisible to the shared file and to other
connections, and gone with its session — so an expired one is a ConnectionError, never a silent reopen
onto a new empty database."""
from __future__ import annotations

import time
import uuid

import pytest

from conftest import DDL, DML, DQL, connect
from rhosocial.activerecord.backend import errors as orm


@pytest.fixture
def sqlite_gateway(gateway):
    if "sqlite" in gateway.skipped:
        pytest.skip(gateway.skipped["sqlite"])
    return gateway


def names(backend, table):
    rows = backend.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (table,), options=DQL
    ).data
    return [r["name"] for r in rows or []]


def test_scratch_databases_are_private_and_go_with_their_session(sqlite_gateway):
    table = f"py_{uuid.uuid4().hex[:10]}"
    a = connect(sqlite_gateway, "sqlite", sqlgate_scratch=True)
    b = connect(sqlite_gateway, "sqlite", sqlgate_scratch=True)
    shared = connect(sqlite_gateway, "sqlite")
    try:
        a.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)", options=DDL)
        a.execute(f"INSERT INTO {table} (id, v) VALUES (?, ?)", (1, "one"), options=DML)
        rows = a.execute(f"SELECT id, v FROM {table}", options=DQL).data
        assert rows == [{"id": 1, "v": "one"}]
        assert names(b, table) == []  # another scratch session: its own empty database
        assert names(shared, table) == []  # the backend's file never saw it
        assert (sqlite_gateway.dir / "gateway.sqlite").exists()
    finally:
        a.disconnect()
        b.disconnect()
        shared.disconnect()
    again = connect(sqlite_gateway, "sqlite", sqlgate_scratch=True)
    try:
        assert names(again, table) == []  # the first one's database is gone
    finally:
        again.disconnect()


def test_an_expired_scratch_session_is_not_reopened(sqlite_gateway):
    table = f"py_{uuid.uuid4().hex[:10]}"
    remote = connect(sqlite_gateway, "sqlite", sqlgate_scratch=True, sqlgate_session_idle_timeout_ms=1000)
    remote.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)", options=DDL)
    first = remote._connection.session_id
    time.sleep(2.5)  # past the session's idle timeout: the gateway closes it and its database
    with pytest.raises(orm.ConnectionError) as info:
        remote.execute(f"INSERT INTO {table} (id) VALUES (1)", options=DML)
    assert "scratch" in str(info.value)
    assert remote._connection.session_id == first  # no new session behind the ORM's back
    remote.disconnect()
