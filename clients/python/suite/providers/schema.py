"""CREATE TABLE statements generated from the testsuite's model classes, per database.

The testsuite ships models, not tables; each backend brings its own schema. Ours is derived from each
model's fields (type annotation, optionality, column name, primary key) with one rule table per
database, plus a few table-specific facts the models cannot express (unique columns the tests rely on).
The same DDL serves the direct and the sqlgate run, so their pass counts compare like for like.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import typing
import uuid
from typing import Any, Dict, List, Tuple, Type

_TYPES: Dict[str, Dict[Any, str]] = {
    "sqlite": {
        int: "INTEGER", float: "REAL", decimal.Decimal: "DECIMAL(20, 6)", bool: "BOOLEAN", str: "TEXT",
        dt.datetime: "TIMESTAMP", dt.date: "DATE", dt.time: "TIME", bytes: "BLOB", dict: "TEXT", list: "TEXT",
        uuid.UUID: "TEXT",
    },
    "postgres": {
        int: "BIGINT", float: "DOUBLE PRECISION", decimal.Decimal: "NUMERIC", bool: "BOOLEAN", str: "TEXT",
        dt.datetime: "TIMESTAMP", dt.date: "DATE", dt.time: "TIME", bytes: "BYTEA", dict: "JSONB",
        list: "JSONB", uuid.UUID: "UUID",
    },
    "mysql": {
        int: "BIGINT", float: "DOUBLE", decimal.Decimal: "DECIMAL(20, 6)", bool: "TINYINT(1)",
        str: "VARCHAR(255)", dt.datetime: "DATETIME(6)", dt.date: "DATE", dt.time: "TIME(6)",
        bytes: "LONGBLOB", dict: "JSON", list: "JSON", uuid.UUID: "CHAR(36)",
    },
}

_AUTO_PK = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgres": "BIGSERIAL PRIMARY KEY",
    "mysql": "BIGINT AUTO_INCREMENT PRIMARY KEY",
}

# Columns the tests expect the database to keep unique.
UNIQUE: Dict[str, Tuple[str, ...]] = {}


def _quote(db: str, name: str) -> str:
    return f"`{name}`" if db == "mysql" else f'"{name}"'


def _base_type(annotation: Any) -> Tuple[Any, bool]:
    """(python type, optional) with Optional/Union/Annotated/Literal unwrapped."""
    optional = False
    t = annotation
    for _ in range(8):
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            t = typing.get_args(t)[0]
            continue
        if origin is typing.Union or (origin is not None and getattr(origin, "__name__", "") == "UnionType"):
            args = [a for a in typing.get_args(t) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(t))
            t = args[0] if args else str
            continue
        if type(t).__name__ == "UnionType":
            args = [a for a in typing.get_args(t) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(t))
            t = args[0] if args else str
            continue
        if origin is typing.Literal:
            values = typing.get_args(t)
            t = type(values[0]) if values else str
            continue
        if origin in (list, tuple, set, List):
            return list, optional
        if origin in (dict, Dict):
            return dict, optional
        break
    if isinstance(t, type):
        if issubclass(t, bool):
            return bool, optional
        if issubclass(t, enum.Enum):
            return (int if issubclass(t, int) else str), optional
        for known in (int, float, decimal.Decimal, str, dt.datetime, dt.date, dt.time, bytes, dict, list, uuid.UUID):
            if issubclass(t, known):
                return known, optional
    return str, optional


def _has_version_column(model: Type[Any]) -> bool:
    from rhosocial.activerecord.field.version import OptimisticLockMixin

    return issubclass(model, OptimisticLockMixin) and "version" not in model.model_fields


def create_table(db: str, model: Type[Any], table: str) -> str:
    types = _TYPES[db]
    pk_fields = model.primary_key_fields()
    cols: List[str] = []
    composite = len(pk_fields) > 1
    for name, info in model.model_fields.items():
        column = model._get_column_name(name)
        py, optional = _base_type(info.annotation)
        q = _quote(db, column)
        if name in pk_fields and not composite:
            if py is int:
                cols.append(f"{q} {_AUTO_PK[db]}")
            else:
                sql_type = "VARCHAR(64)" if db == "mysql" and py is str else types[py]
                cols.append(f"{q} {sql_type} PRIMARY KEY")
            continue
        sql_type = types[py]
        null = "" if optional or not info.is_required() else " NOT NULL"
        if name in pk_fields:
            null = " NOT NULL"
            if db == "mysql" and sql_type.startswith(("VARCHAR(255)", "TEXT")):
                sql_type = "VARCHAR(64)"
        cols.append(f"{q} {sql_type}{null}")
    if _has_version_column(model):
        # OptimisticLockMixin keeps `version` in a private attribute, not in model_fields.
        cols.append(f"{_quote(db, 'version')} INTEGER NOT NULL DEFAULT 1")
    if composite:
        cols.append("PRIMARY KEY (" + ", ".join(_quote(db, model._get_column_name(f)) for f in pk_fields) + ")")
    for column in UNIQUE.get(table, ()):
        cols.append(f"UNIQUE ({_quote(db, column)})")
    return f"CREATE TABLE {_quote(db, table)} (\n  " + ",\n  ".join(cols) + "\n)"


def drop_table(db: str, table: str) -> str:
    cascade = " CASCADE" if db == "postgres" else ""
    return f"DROP TABLE IF EXISTS {_quote(db, table)}{cascade}"
