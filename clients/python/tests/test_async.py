"""The async backends (AsyncSqlgate{SQLite,PostgreSQL,MySQL}Backend) against the same real gateway: CRUD
through an AsyncActiveRecord model, transactions and savepoints, execute_many, values, error classes, the
NDJSON stream and the session/transport failure rules; checked in the database with the direct backend and
against the sync sqlgate backend, whose results the other test files compare with the direct drivers."""
from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import time
import uuid
from typing import Any, Optional

import pytest

from conftest import DDL, DML, DQL, ph, rows
from direct import direct_backend
from gateway import NAMES, start_gateway
from models import PEOPLE_DDL, SAMPLES_DDL, bind
from test_batch_dql import Sql
from test_errors import FAILURES
from test_values import assert_same, sample_values

from rhosocial.activerecord.backend import errors as orm
from rhosocial.activerecord.backend.impl.sqlgate import SqlgateConnectionConfig, resolve_async_backend
from rhosocial.activerecord.field import IntegerPKMixin
from rhosocial.activerecord.model import AsyncActiveRecord

pytestmark = pytest.mark.asyncio


class APerson(IntegerPKMixin, AsyncActiveRecord):
    __table_name__ = "people"
    id: Optional[int] = None
    name: str
    email: str
    age: Optional[int] = None


class ASample(IntegerPKMixin, AsyncActiveRecord):
    __table_name__ = "samples"
    id: Optional[int] = None
    big: int
    amount: decimal.Decimal
    ts: dt.datetime
    day: dt.date
    tod: dt.time
    data: bytes
    uid: uuid.UUID
    flag: bool
    doc: Any = None
    note: Optional[str] = None


@pytest.fixture(autouse=True)
def no_local_aiosqlite(monkeypatch):
    """The ORM's async SQLite module imports aiosqlite; through sqlgate it must never open a local file."""
    import aiosqlite

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"aiosqlite.connect{args} called during a sqlgate test")

    monkeypatch.setattr(aiosqlite, "connect", refuse)


async def aconnect(gw: Any, kind: str, **options: Any) -> Any:
    cls, cfg = await resolve_async_backend(
        SqlgateConnectionConfig(sqlgate_url=gw.url, sqlgate_backend=NAMES[kind], **options)
    )
    backend = cls(connection_config=cfg)
    await backend.connect()
    await backend.introspect_and_adapt()
    return backend


def count(direct: Any, table: str) -> int:
    return direct.execute(f"SELECT COUNT(*) AS n FROM {table}", options=DQL).data[0]["n"]


async def test_backend_class_and_server_version(kind, gateway, remote):
    backend = await aconnect(gateway, kind)
    try:
        assert type(backend).__name__ == {
            "sqlite": "AsyncSqlgateSQLiteBackend", "postgres": "AsyncSqlgatePostgresBackend",
            "mysql": "AsyncSqlgateMySQLBackend"}[kind]
        version = backend.get_server_version()
        version = await version if asyncio.iscoroutine(version) else version
        assert version == remote.get_server_version()  # the gateway's serverVersion, not a local library's
        assert backend.dialect.version == remote.dialect.version
        assert await backend.ping(reconnect=False) is True
    finally:
        await backend.disconnect()
    assert await backend.ping(reconnect=False) is False


async def test_crud_through_an_async_model(kind, gateway, direct, table):
    direct.execute(PEOPLE_DDL[kind].format(t=table), options=DDL)
    backend = await aconnect(gateway, kind)
    try:
        people = bind(APerson, backend, table)
        ada = people(name="Ada", email="ada@example.com", age=36)
        await ada.save()
        bob = people(name="Bob", email="bob@example.com")
        await bob.save()
        assert isinstance(ada.id, int) and ada.id != bob.id
        assert rows(direct, f"SELECT name, age FROM {table} ORDER BY id") == [
            {"name": "Ada", "age": 36}, {"name": "Bob", "age": None}]
        found = await people.find_one(ada.id)
        assert (found.name, found.email, found.age) == ("Ada", "ada@example.com", 36)
        assert await people.query().where("age IS NULL").count() == 1
        found.age = 37
        await found.save()
        await bob.delete()
        assert rows(direct, f"SELECT name, age FROM {table} ORDER BY id") == [{"name": "Ada", "age": 37}]
        assert await people.find_one(bob.id) is None
    finally:
        await backend.disconnect()


async def test_transactions_and_savepoints(kind, gateway, direct, table):
    direct.execute(PEOPLE_DDL[kind].format(t=table), options=DDL)
    backend = await aconnect(gateway, kind)
    try:
        people = bind(APerson, backend, table)
        async with people.transaction():
            await people(name="In", email="in@example.com").save()
        with pytest.raises(RuntimeError):
            async with people.transaction():
                await people(name="Out", email="out@example.com").save()
                assert await people.query().count() == 2  # same session: visible inside
                raise RuntimeError("abort")
        async with people.transaction():
            await people(name="Outer", email="outer@example.com").save()
            with pytest.raises(RuntimeError):
                async with people.transaction():  # nested: SAVEPOINT ... ROLLBACK TO
                    await people(name="Inner", email="inner@example.com").save()
                    raise RuntimeError("inner only")
        assert [r["name"] for r in rows(direct, f"SELECT name FROM {table} ORDER BY id")] == ["In", "Outer"]
        assert not backend.transaction_manager.is_active
    finally:
        await backend.disconnect()


async def test_execute_many_is_one_all_or_nothing_request(kind, gateway, direct, table):
    direct.execute(PEOPLE_DDL[kind].format(t=table), options=DDL)
    backend = await aconnect(gateway, kind)
    p = ph(kind)
    sql = f"INSERT INTO {table} (name, email, age) VALUES ({p}, {p}, {p})"
    try:
        result = await backend.execute_many(sql, [(f"n{i}", f"n{i}@example.com", i) for i in range(50)])
        assert result.affected_rows == 50
        with pytest.raises(orm.IntegrityError):  # the third set repeats an email: nothing of it stays
            await backend.execute_many(sql, [("x", "x@example.com", 1), ("y", "y@example.com", 2),
                                             ("dup", "n1@example.com", 3)])
        assert count(direct, table) == 50
    finally:
        await backend.disconnect()


async def test_values_both_ways(kind, gateway, direct, remote, table):
    direct.execute(SAMPLES_DDL[kind].format(t=table), options=DDL)
    backend = await aconnect(gateway, kind)
    try:
        model = bind(ASample, backend, table)
        values = sample_values(kind)
        rec = model(**values)
        await rec.save()
        assert_same(await model.find_one(rec.id), values)
        sql = f"SELECT big, amount, ts, day, tod, data, uid, flag, doc, note FROM {table}"
        got = (await backend.execute(sql, options=DQL)).data
        assert got == rows(direct, sql) and len(got) == 1  # the rows the adapters see = the native driver's
        assert got == rows(remote, sql)  # and the sync sqlgate backend's
    finally:
        await backend.disconnect()


@pytest.mark.parametrize("case", sorted(FAILURES))
async def test_same_exception_class_as_sync_and_direct(case, kind, gateway, remote, direct, table):
    direct.execute(
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, "
        f"name VARCHAR(100) NOT NULL, qty INTEGER CHECK (qty >= 0))", options=DDL)
    direct.execute(f"INSERT INTO {table} (id, email, name) VALUES (1, 'a@example.com', 'first')", options=DML)
    sql = FAILURES[case].format(t=table)
    backend = await aconnect(gateway, kind)
    try:
        with pytest.raises(orm.DatabaseError) as via_async:
            await backend.execute(sql, options=DML)
        with pytest.raises(orm.DatabaseError) as via_direct:
            direct.execute(sql, options=DML)
        assert type(via_async.value) is type(via_direct.value), f"{via_async.value!r} vs {via_direct.value!r}"
        assert via_async.value.sqlgate["code"]
        assert (await backend.execute("SELECT 1 AS one", options=DQL)).data == [{"one": 1}]
    finally:
        await backend.disconnect()


async def test_batch_dql_streams_pages(kind, gateway, direct, table):
    direct.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, big BIGINT)", options=DDL)
    backend = await aconnect(gateway, kind)
    p = ph(kind)
    try:
        await backend.execute_many(f"INSERT INTO {table} (id, big) VALUES ({p}, {p})",
                                   [(i, 2**60 + i) for i in range(1200)])
        pages = [pg async for pg in backend.execute_batch_dql(Sql(f"SELECT id, big FROM {table} ORDER BY id"),
                                                               page_size=500)]
        assert [pg.page_size for pg in pages] == [500, 500, 200]
        assert [r for pg in pages for r in pg.data] == rows(direct, f"SELECT id, big FROM {table} ORDER BY id")
        seen = 0
        async for pg in backend.execute_batch_dql(Sql(f"SELECT id FROM {table} ORDER BY id"), page_size=100):
            await backend.execute(f"UPDATE {table} SET big = 0 WHERE id = {pg.data[0]['id']}", options=DML)
            seen += 1
            if seen == 2:
                break  # early stop drops the stream's connection
        assert count(direct, table) == 1200
        assert rows(direct, f"SELECT COUNT(*) AS n FROM {table} WHERE big = 0") == [{"n": 2}]
        with pytest.raises(orm.DatabaseError):
            [pg async for pg in backend.execute_batch_dql(Sql("SELECT * FROM no_such_table_here"))]
    finally:
        await backend.disconnect()


async def test_concurrent_backends_share_the_event_loop(kind, gateway, direct, table):
    """Four async backends (four sessions) insert concurrently; every row arrives once."""
    direct.execute(PEOPLE_DDL[kind].format(t=table), options=DDL)
    backends = [await aconnect(gateway, kind) for _ in range(4)]
    p = ph(kind)

    async def work(i: int, b: Any) -> None:
        for j in range(10):
            await b.execute(f"INSERT INTO {table} (name, email) VALUES ({p}, {p})", (f"w{i}", f"{i}-{j}@x.org"),
                            options=DML)

    try:
        await asyncio.gather(*(work(i, b) for i, b in enumerate(backends)))
        assert count(direct, table) == 40
        assert len({b._connection.session_id for b in backends}) == 4
    finally:
        for b in backends:
            await b.disconnect()


async def test_session_expiry_inside_and_outside_a_transaction(kind, gateway, direct, table):
    direct.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)", options=DDL)
    backend = await aconnect(gateway, kind, sqlgate_session_idle_timeout_ms=1000)
    try:
        first = backend._connection.session_id
        await backend.execute(f"INSERT INTO {table} (id, v) VALUES (1, 1)", options=DML)
        await asyncio.sleep(2.5)  # outside a transaction: reopened transparently, statement sent once
        await backend.execute(f"INSERT INTO {table} (id, v) VALUES (2, 2)", options=DML)
        assert backend._connection.session_id != first and count(direct, table) == 2
        await backend.transaction_manager.begin()
        await backend.execute(f"INSERT INTO {table} (id, v) VALUES (3, 3)", options=DML)
        await asyncio.sleep(2.5)  # inside: the gateway rolled it back; a TransactionError, no retry
        with pytest.raises(orm.TransactionError) as info:
            await backend.execute(f"INSERT INTO {table} (id, v) VALUES (4, 4)", options=DML)
        assert "rolled the transaction back" in str(info.value)
        assert count(direct, table) == 2
    finally:
        await backend.disconnect()


async def test_gateway_killed_mid_transaction(kind, gateway, table):
    if kind in gateway.skipped:
        pytest.skip(gateway.skipped[kind])
    private = start_gateway(kinds=[kind])
    direct = direct_backend(kind, sqlite_file=str(private.dir / "gateway.sqlite"))
    try:
        direct.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)", options=DDL)
        backend = await aconnect(private, kind)
        await backend.transaction_manager.begin()
        await backend.execute(f"INSERT INTO {table} (id, v) VALUES (1, 1)", options=DML)
        private.kill()
        with pytest.raises(orm.ConnectionError) as info:
            await backend.execute(f"INSERT INTO {table} (id, v) VALUES (2, 2)", options=DML)
        assert "inside a transaction" in str(info.value)
        assert not await backend._connection.is_connected()
        await backend.disconnect()  # does not hang or raise with the server gone
        deadline = time.monotonic() + 10
        while count(direct, table) != 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the database notices the dead client connection asynchronously
        assert count(direct, table) == 0
        with pytest.raises(orm.ConnectionError):  # nothing listens any more: not sent, a ConnectionError
            await aconnect(private, kind)
    finally:
        direct.execute(f"DROP TABLE IF EXISTS {table}", options=DDL)
        direct.disconnect()
        private.stop()


async def test_4xx_answers(kind, gateway):
    with pytest.raises(orm.ConnectionError) as info:
        await resolve_async_backend(SqlgateConnectionConfig(sqlgate_url=gateway.url, sqlgate_backend="nope"))
    assert "nope" in str(info.value)
    backend = await aconnect(gateway, kind)
    try:
        with pytest.raises(orm.QueryError) as two:
            await backend.execute("SELECT 1; SELECT 2", options=DQL)
        assert two.value.sqlgate["code"] == "BAD_REQUEST"
        with pytest.raises(orm.TypeConversionError):
            await backend.execute(f"SELECT {ph(kind)}", (object(),), options=DQL)
        assert (await backend.execute("SELECT 2 AS two", options=DQL)).data == [{"two": 2}]
    finally:
        await backend.disconnect()
