"""Values survive the trip both ways: written through sqlgate and read directly, written directly and read
through sqlgate, and the ORM model sees the same Python values either way."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest

from conftest import DDL, rows
from models import SAMPLES_DDL, Sample, bind

TZ = dt.timezone(dt.timedelta(hours=5, minutes=30))


def sample_values(kind: str) -> dict:
    # MySQL DATETIME has no zone: the ORM's MySQL backend reads it back as UTC, so the value is in UTC there.
    ts = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.timezone.utc if kind == "mysql" else TZ)
    return dict(
        big=2**62 + 12345,  # far beyond 2^53: a float would round it
        # The ORM's own SQLite and MySQL adapters pass Decimal through float (direct too), so the model-level
        # value has 15 significant digits; test_decimal_beyond_float sends a long one below the model.
        amount=decimal.Decimal("12345.6789012345"),
        ts=ts,
        day=dt.date(1999, 12, 31),
        tod=dt.time(7, 8, 9, 654321),
        data=b"\x00\x01\xfe\xff sqlgate \x00",
        uid=uuid.UUID("12345678-9abc-4def-8123-456789abcdef"),
        flag=True,
        doc={"a": [1, 2.5, "three"], "nested": {"ok": False, "none": None}, "big": 2**52},
        note="naïve — ünïcödé ✓",
    )


def assert_same(record, expected: dict) -> None:
    for field, value in expected.items():
        got = getattr(record, field)
        if field == "doc" and isinstance(got, str):
            got = json.loads(got)  # SQLite / MySQL: the ORM hands JSON columns over as text
        assert got == value, f"{field}: {got!r} != {value!r}"
        assert type(got) is type(value), f"{field}: {type(got).__name__} != {type(value).__name__}"


@pytest.fixture
def models(kind, remote, direct, table):
    direct.execute(SAMPLES_DDL[kind].format(t=table), options=DDL)
    return bind(Sample, remote, table), bind(Sample, direct, table)


def test_written_through_sqlgate_read_both_ways(kind, models):
    via_gateway, via_direct = models
    values = sample_values(kind)
    rec = via_gateway(**values)
    rec.save()
    assert isinstance(rec.id, int) and rec.id > 0
    got = via_gateway.find_one(rec.id)
    assert_same(got, values)
    assert_same(via_direct.find_one(rec.id), values)
    assert got.model_dump() == via_direct.find_one(rec.id).model_dump()


def test_written_directly_read_through_sqlgate(kind, models):
    via_gateway, via_direct = models
    values = sample_values(kind)
    values.update(big=-(2**63), flag=False, amount=decimal.Decimal("-0.0000000001"), data=b"")
    rec = via_direct(**values)
    rec.save()
    assert_same(via_gateway.find_one(rec.id), values)


def test_raw_rows_match_the_direct_driver(kind, models, remote, direct, table):
    """Below the model: the row values the backend hands the ORM's adapters equal the native driver's."""
    via_gateway, _ = models
    via_gateway(**sample_values(kind)).save()
    sql = f"SELECT big, amount, ts, day, tod, data, uid, flag, doc, note FROM {table}"
    assert rows(remote, sql) == rows(direct, sql)
    assert len(rows(remote, sql)) == 1


def test_nulls_and_extremes(kind, models, remote, table):
    via_gateway, _ = models
    values = sample_values(kind)
    values.update(big=2**63 - 1, note=None, doc={})
    rec = via_gateway(**values)
    rec.save()
    got = via_gateway.find_one(rec.id)
    assert got.big == 2**63 - 1 and got.note is None
    assert (json.loads(got.doc) if isinstance(got.doc, str) else got.doc) == {}
    [row] = rows(remote, f"SELECT COUNT(*) AS n FROM {table} WHERE big = {2**63 - 1}")
    assert row["n"] == 1


def test_float_values(kind, remote, direct, table):
    remote.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, x DOUBLE PRECISION)", options=DDL)
    p = "?" if kind == "sqlite" else "%s"
    for i, x in enumerate([0.1, 2.0, -1e300, 5e-324]):
        remote.execute(f"INSERT INTO {table} (id, x) VALUES ({p}, {p})", (i, x))
    got = [r["x"] for r in rows(remote, f"SELECT x FROM {table} ORDER BY id")]
    assert got == [0.1, 2.0, -1e300, 5e-324]
    assert all(type(v) is float for v in got)
    assert got == [r["x"] for r in rows(direct, f"SELECT x FROM {table} ORDER BY id")]


LONG_DECIMAL = decimal.Decimal("123456789012345678901234.5678901234")


def test_decimal_beyond_float(kind, remote, direct, table):
    """A 34-digit DECIMAL parameter and result, below the ORM's model adapters: exact through the gateway."""
    if kind == "sqlite":
        pytest.skip("SQLite has no exact DECIMAL storage (NUMERIC affinity keeps 15 digits, direct too)")
    remote.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, amount DECIMAL(40, 10))", options=DDL)
    remote.execute(f"INSERT INTO {table} (id, amount) VALUES (%s, %s)", (1, LONG_DECIMAL))
    remote.execute(f"INSERT INTO {table} (id, amount) VALUES (%s, %s)", (2, str(LONG_DECIMAL)))
    got = rows(remote, f"SELECT amount FROM {table} ORDER BY id")
    assert all(isinstance(r["amount"], decimal.Decimal) for r in got)
    # Read back: exact from the gateway, whatever way it was sent (the text form is exact on both).
    assert got[1]["amount"] == LONG_DECIMAL
    if kind == "postgres":
        assert got[0]["amount"] == LONG_DECIMAL
    # The ORM's MySQL backend binds a Decimal parameter as float (its default type mapping, direct too),
    # so row 1 holds the rounded value on MySQL; the direct driver reads exactly what the gateway reads.
    assert rows(direct, f"SELECT amount FROM {table} ORDER BY id") == got


@pytest.mark.parametrize("value", [5, 70000, 2**40, 1.25, True, decimal.Decimal("2.50")])
def test_parameter_types_as_the_direct_driver_binds_them(kind, remote, direct, value):
    """Where nothing in the statement types a parameter, the server infers what it does for the direct
    driver (PostgreSQL: psycopg sends typed parameters; the gateway's casts make ours typed the same way)."""
    p = "?" if kind == "sqlite" else "%s"
    sql = f"SELECT CASE WHEN 1 = 1 THEN {p} END AS v"
    got = rows(remote, sql, (value,))
    assert got == rows(direct, sql, (value,))
    if kind == "postgres":
        assert got == [{"v": value}] and type(got[0]["v"]) is type(value)


def test_bulk_parameter_types_take_the_widest_integer(kind, remote, direct, table):
    remote.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, big BIGINT)", options=DDL)
    p = "?" if kind == "sqlite" else "%s"
    sets = [(1, 1), (2, None), (3, 2**40)]  # int2, NULL, int8: one cast for all three sets must be int8
    assert remote.execute_many(f"INSERT INTO {table} (id, big) VALUES ({p}, {p})", sets).affected_rows == 3
    assert [r["big"] for r in rows(direct, f"SELECT big FROM {table} ORDER BY id")] == [1, None, 2**40]


def test_count_star_in_double_quotes(kind, remote, direct, table):
    """The ORM writes COUNT("*"); the sqlite3 module's DQS makes that '*', the gateway's SQLite (DQS off)
    needs the client to say so. Literals holding "*" are left alone."""
    remote.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, s VARCHAR(20))", options=DDL)
    p = "?" if kind == "sqlite" else "%s"
    remote.execute_many(f"INSERT INTO {table} (id, s) VALUES ({p}, {p})", [(1, '"*"'), (2, "x")])
    if kind == "sqlite":
        sql = f"SELECT COUNT(\"*\") AS n, (SELECT s FROM {table} WHERE s = '\"*\"') AS lit FROM {table}"
        assert rows(remote, sql) == rows(direct, sql) == [{"n": 2, "lit": '"*"'}]
    else:
        assert rows(remote, f"SELECT COUNT(*) AS n FROM {table}") == [{"n": 2}]
