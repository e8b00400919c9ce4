"""Models and per-database tables for the package's tests."""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any, Optional, Type

from rhosocial.activerecord.field import IntegerPKMixin
from rhosocial.activerecord.model import ActiveRecord


class Person(IntegerPKMixin, ActiveRecord):
    __table_name__ = "people"

    id: Optional[int] = None
    name: str
    email: str
    age: Optional[int] = None


class Sample(IntegerPKMixin, ActiveRecord):
    """One column per value kind that must survive the trip both ways."""

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
    #: A dict on PostgreSQL (JSONB); JSON text on SQLite and MySQL, as the ORM's direct backends return it.
    doc: Any = None
    note: Optional[str] = None


PEOPLE_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
    "email TEXT NOT NULL UNIQUE, age INTEGER)",
    "postgres": "CREATE TABLE {t} (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, age INTEGER)",
    "mysql": "CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, "
    "email VARCHAR(100) NOT NULL UNIQUE, age INT)",
}

SAMPLES_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, big INTEGER, amount TEXT, "
    "ts TIMESTAMP, day DATE, tod TIME, data BLOB, uid TEXT, flag BOOLEAN, doc JSON, note TEXT)",
    "postgres": "CREATE TABLE {t} (id BIGSERIAL PRIMARY KEY, big BIGINT, amount NUMERIC(40, 10), ts TIMESTAMPTZ, "
    "day DATE, tod TIME, data BYTEA, uid UUID, flag BOOLEAN, doc JSONB, note TEXT)",
    "mysql": "CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, big BIGINT, amount DECIMAL(40, 10), "
    "ts DATETIME(6), day DATE, tod TIME(6), data LONGBLOB, uid CHAR(36), flag TINYINT(1), doc JSON, note TEXT)",
}


def bind(model: Type[ActiveRecord], backend: Any, table: str) -> Type[ActiveRecord]:
    """A subclass of ``model`` on ``table`` whose every query goes to ``backend``."""
    sub = type(f"{model.__name__}_{table}", (model,), {"__table_name__": table, "__module__": __name__})
    sub.__connection_config__ = backend.config
    sub.__backend_class__ = type(backend)
    sub.__backend__ = backend
    return sub
