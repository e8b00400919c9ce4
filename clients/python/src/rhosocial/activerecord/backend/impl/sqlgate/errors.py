"""sqlgate error responses -> the ORM's exception hierarchy.

The aim is the exception the ORM's *direct* backend raises for the same failure on the same database:

- a database error is classified the way that backend's driver classifies it (sqlite3 by result code,
  psycopg by SQLSTATE, mysql-connector by errno), then passed through the same rules as the ORM's
  ``_handle_error`` for that backend;
- a gateway error (no database involved: unreachable backend, limits, auth, session state) maps by its
  stable ``code``; anything else by the ``class`` the gateway names, which uses the ORM's class names.
"""
from __future__ import annotations

from typing import Dict, Type

from rhosocial.activerecord.backend import errors as orm

from .transport import GatewayError

_BY_CODE: Dict[str, Type[orm.DatabaseError]] = {
    "BACKEND_UNAVAILABLE": orm.ConnectionError,
    "BACKEND_NOT_FOUND": orm.ConnectionError,
    "UNAUTHORIZED": orm.ConnectionError,
    "SESSION_NOT_FOUND": orm.ConnectionError,
    "SESSION_EXPIRED": orm.TransactionError,
    "FORBIDDEN": orm.OperationalError,
    "READ_ONLY_VIOLATION": orm.OperationalError,
    "RATE_LIMITED": orm.OperationalError,
    "TOO_MANY_SESSIONS": orm.OperationalError,
    "OVERLOADED": orm.OperationalError,
    "STATEMENT_TIMEOUT": orm.OperationalError,
    "PAYLOAD_TOO_LARGE": orm.OperationalError,
    "RESULT_TOO_LARGE": orm.OperationalError,
    "PARAM_INVALID": orm.TypeConversionError,
    "TYPE_CONVERSION_ERROR": orm.TypeConversionError,
    "BAD_REQUEST": orm.QueryError,
    "INTERNAL": orm.DatabaseError,
}

# sqlite3 raises OperationalError for these primary result codes (Modules/_sqlite/util.c).
_SQLITE_OPERATIONAL = {
    "SQLITE_ERROR", "SQLITE_PERM", "SQLITE_ABORT", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_READONLY",
    "SQLITE_INTERRUPT", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL",
    "SQLITE_EMPTY", "SQLITE_SCHEMA",
}


def _sqlite(err: GatewayError, db_code: str) -> Type[orm.DatabaseError]:
    primary = "_".join(db_code.split("_")[:2])
    if primary in ("SQLITE_CONSTRAINT", "SQLITE_MISMATCH"):
        return orm.IntegrityError
    if primary in _SQLITE_OPERATIONAL:
        # The ORM's SQLite backend singles out "no such table" (QueryError); everything else from
        # sqlite3.OperationalError, locks included, is an OperationalError.
        return orm.QueryError if "no such table" in err.message else orm.OperationalError
    return orm.DatabaseError


def _postgres(err: GatewayError, sql_state: str) -> Type[orm.DatabaseError]:
    try:
        from psycopg import errors as pe
    except ImportError:  # pragma: no cover - the postgres extra brings psycopg
        pe = None
    if pe is None:
        return orm.IntegrityError if sql_state.startswith("23") else orm.DatabaseError
    cls = pe.lookup(sql_state) if sql_state else pe.DatabaseError
    if issubclass(cls, pe.IntegrityError):
        return orm.IntegrityError
    if issubclass(cls, pe.OperationalError):
        return orm.DeadlockError if sql_state == "40P01" else orm.OperationalError
    if issubclass(cls, pe.ProgrammingError):
        return orm.QueryError
    return orm.DatabaseError


def _mysql(err: GatewayError, errno: int, sql_state: str) -> Type[orm.DatabaseError]:
    try:
        from mysql.connector import errors as me
    except ImportError:  # pragma: no cover - the mysql extra brings mysql-connector
        return orm.IntegrityError if sql_state.startswith("23") else orm.DatabaseError
    exc = me.get_mysql_exception(errno, err.message, sql_state or None)
    if isinstance(exc, me.IntegrityError):
        return orm.IntegrityError
    if isinstance(exc, me.DatabaseError):
        return orm.DeadlockError if errno == 1213 else orm.DatabaseError
    return orm.DatabaseError


def _message(err: GatewayError, flavor: str) -> str:
    """The gateway's message, in the direct driver's words where those carry no value (the gateway rewrites
    MySQL messages that could echo data; 1048 names only the column, so mysql-connector's text is safe)."""
    body = err.body
    if flavor == "mysql" and str(body.get("dbCode")) == "1048" and body.get("column"):
        return f"1048 ({body.get('sqlState') or '23000'}): Column '{body['column']}' cannot be null"
    return err.message


def to_orm_error(err: GatewayError, flavor: str) -> orm.DatabaseError:
    """The ORM exception for a gateway error on a backend of this flavor (sqlite | postgres | mysql)."""
    body = err.body
    db_code = body.get("dbCode")
    sql_state = body.get("sqlState") or ""
    cls: Type[orm.DatabaseError]
    if err.code in _BY_CODE:
        cls = _BY_CODE[err.code]
    elif flavor == "sqlite" and isinstance(db_code, str) and db_code.startswith("SQLITE_"):
        cls = _sqlite(err, db_code)
    elif flavor == "postgres" and sql_state:
        cls = _postgres(err, sql_state)
    elif flavor == "mysql" and (db_code is not None or sql_state):
        try:
            errno = int(db_code) if db_code is not None else -1
        except (TypeError, ValueError):
            errno = -1
        cls = _mysql(err, errno, sql_state)
    else:
        named = getattr(orm, str(body.get("class", "")), None)
        cls = named if isinstance(named, type) and issubclass(named, orm.DatabaseError) else orm.DatabaseError
    exc = cls(_message(err, flavor))
    exc.sqlgate = body  # type: ignore[attr-defined]  # the gateway's error object (code, sqlState ...)
    return exc
