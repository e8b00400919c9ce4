"""Bad input and bad luck: the gateway gone mid-transaction, an expired session inside and outside a
transaction, 4xx answers; each is the right ORM exception and nothing is left half done in the database."""
from __future__ import annotations

import time

import pytest

from conftest import DDL, DML, DQL, connect, ph
from direct import direct_backend
from gateway import NAMES, start_gateway
from rhosocial.activerecord.backend import errors as orm
from rhosocial.activerecord.backend.impl.sqlgate import SqlgateConnectionConfig, resolve_backend

KEY_RW = "py-tests-read-write-key-0001"
KEY_RO = "py-tests-read-only-key-00002"


def count(direct, table):
    return direct.execute(f"SELECT COUNT(*) AS n FROM {table}", options=DQL).data[0]["n"]


@pytest.fixture
def private(kind, gateway):
    """A gateway of this test's own, for this kind only, that the test may kill."""
    if kind in gateway.skipped:
        pytest.skip(gateway.skipped[kind])
    gw = start_gateway(kinds=[kind])
    yield gw
    gw.stop()


def test_gateway_killed_mid_transaction(kind, private, table):
    direct = direct_backend(kind, sqlite_file=str(private.dir / "gateway.sqlite"))
    try:
        direct.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)", options=DDL)
        remote = connect(private, kind)
        tm = remote.transaction_manager
        tm.begin()
        remote.execute(f"INSERT INTO {table} (id, v) VALUES (1, 1)", options=DML)
        private.kill()
        with pytest.raises(orm.ConnectionError) as info:
            remote.execute(f"INSERT INTO {table} (id, v) VALUES (2, 2)", options=DML)
        assert "inside a transaction" in str(info.value)
        assert not remote._connection.is_connected()
        remote.disconnect()  # does not hang or raise with the server gone
        # The database rolled the half-done transaction back when the gateway's connection died.
        deadline = time.monotonic() + 10
        while count(direct, table) != 0 and time.monotonic() < deadline:
            time.sleep(0.1)  # PostgreSQL/MariaDB notice the dead client connection asynchronously
        assert count(direct, table) == 0
    finally:
        direct.execute(f"DROP TABLE IF EXISTS {table}", options=DDL)
        direct.disconnect()


def test_gateway_gone_outside_a_transaction(kind, private):
    remote = connect(private, kind)
    private.kill()
    with pytest.raises(orm.ConnectionError):
        remote.execute("SELECT 1", options=DQL)
    assert remote.ping(reconnect=True) is False
    remote.disconnect()


def test_session_expired_inside_a_transaction(kind, gateway, direct, table):
    direct.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)", options=DDL)
    remote = connect(gateway, kind, sqlgate_session_idle_timeout_ms=1000)
    tm = remote.transaction_manager
    tm.begin()
    remote.execute(f"INSERT INTO {table} (id, v) VALUES (1, 1)", options=DML)
    time.sleep(2.5)  # past the session's idle timeout: the gateway rolls back and closes it
    with pytest.raises(orm.TransactionError) as info:
        remote.execute(f"INSERT INTO {table} (id, v) VALUES (2, 2)", options=DML)
    assert "rolled the transaction back" in str(info.value)
    assert count(direct, table) == 0
    remote.disconnect()


def test_session_expired_outside_a_transaction_reopens(kind, gateway, direct, table):
    direct.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)", options=DDL)
    remote = connect(gateway, kind, sqlgate_session_idle_timeout_ms=1000)
    first = remote._connection.session_id
    remote.execute(f"INSERT INTO {table} (id, v) VALUES (1, 1)", options=DML)
    time.sleep(2.5)
    p = ph(kind)
    remote.execute(f"INSERT INTO {table} (id, v) VALUES ({p}, {p})", (2, 2), options=DML)
    assert remote._connection.session_id != first
    assert count(direct, table) == 2
    remote.disconnect()


def test_unknown_backend_name(gateway):
    with pytest.raises(orm.ConnectionError) as info:
        resolve_backend(SqlgateConnectionConfig(sqlgate_url=gateway.url, sqlgate_backend="nope"))
    assert "nope" in str(info.value)


def test_two_statements_are_a_query_error(kind, remote):
    with pytest.raises(orm.QueryError) as info:
        remote.execute("SELECT 1; SELECT 2", options=DQL)
    assert info.value.sqlgate["code"] == "BAD_REQUEST"
    remote.execute("SELECT 1", options=DQL)  # the session is still fine


def test_unsupported_parameter_type(kind, remote):
    with pytest.raises(orm.TypeConversionError):
        remote.execute(f"SELECT {ph(kind)}", (object(),), options=DQL)


@pytest.fixture
def authed(kind, gateway):
    if kind in gateway.skipped:
        pytest.skip(gateway.skipped[kind])
    gw = start_gateway(kinds=[kind], extra={"auth": {"apiKeys": [
        {"name": "rw", "key": KEY_RW}, {"name": "ro", "key": KEY_RO, "readOnly": True},
    ]}})
    yield gw
    gw.stop()


def test_bad_token(kind, authed):
    with pytest.raises(orm.ConnectionError) as info:
        resolve_backend(SqlgateConnectionConfig(sqlgate_url=authed.url, sqlgate_token="wrong-token-wrong-token",
                                                sqlgate_backend=NAMES[kind]))
    assert info.value.sqlgate["code"] == "UNAUTHORIZED"


def test_read_only_key_cannot_write(kind, authed, table):
    rw = connect(authed, kind, sqlgate_token=KEY_RW)
    if kind != "sqlite":
        # PostgreSQL / MySQL read-only principals need a readOnlyUrl (a SELECT-only login); without one
        # the gateway refuses them outright (403 FORBIDDEN), which the ORM sees as an OperationalError.
        with pytest.raises(orm.OperationalError) as refused:
            connect(authed, kind, sqlgate_token=KEY_RO)
        assert refused.value.sqlgate["code"] == "FORBIDDEN"
        rw.disconnect()
        return
    ro = connect(authed, kind, sqlgate_token=KEY_RO)
    try:
        rw.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)", options=DDL)
        with pytest.raises(orm.OperationalError) as info:
            ro.execute(f"INSERT INTO {table} (id) VALUES (1)", options=DML)
        assert info.value.sqlgate["code"] == "READ_ONLY_VIOLATION"
        assert ro.execute(f"SELECT COUNT(*) AS n FROM {table}", options=DQL).data == [{"n": 0}]
    finally:
        rw.execute(f"DROP TABLE IF EXISTS {table}", options=DDL)
        rw.disconnect()
        ro.disconnect()
