"""Python values <-> sqlgate JSON, lossless both ways.

Params: what JSON cannot say exactly travels as a ``$type`` tag (BIGINT beyond 2^53-1, DECIMAL, dates and
times with microseconds and offsets, bytes, UUID, JSON documents, integral or non-finite floats).
Results: each value is decoded by its column's generic type (``columns[].type``) into what the ORM's
*direct* driver for that database returns (sqlite3, psycopg, mysql-connector), so the ORM's own type
adapters see the same Python values as they do without the gateway. SQLite results are read with
``valueMode: "raw"`` (storage classes, tagged), which is exactly what the sqlite3 module returns.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import json
import math
import re
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence

from rhosocial.activerecord.backend.errors import TypeConversionError

MAX_SAFE = 2**53 - 1


def _float_param(v: float) -> Any:
    if math.isfinite(v) and not v.is_integer():
        return v
    # An integral float (2.0) would arrive as the JSON integer 2 and bind as an integer; NaN/Infinity are
    # not JSON at all.
    text = "NaN" if math.isnan(v) else ("Infinity" if v == math.inf else ("-Infinity" if v == -math.inf else v))
    return {"$type": "DOUBLE", "value": text}


def encode_param(v: Any) -> Any:
    """One Python value -> its JSON form for sqlgate."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, enum.Enum):
        return encode_param(v.value)
    if isinstance(v, int):
        return v if -MAX_SAFE <= v <= MAX_SAFE else {"$type": "BIGINT", "value": str(v)}
    if isinstance(v, float):
        return _float_param(v)
    if isinstance(v, decimal.Decimal):
        return {"$type": "DECIMAL", "value": str(v)}
    if isinstance(v, dt.datetime):
        tag = "DATETIME" if v.tzinfo is None or v.utcoffset() is None else "TIMESTAMP"
        return {"$type": tag, "value": v.isoformat()}
    if isinstance(v, dt.date):
        return {"$type": "DATE", "value": v.isoformat()}
    if isinstance(v, dt.time):
        return {"$type": "TIME", "value": v.isoformat()}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$type": "BLOB", "base64": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, uuid.UUID):
        return {"$type": "UUID", "value": str(v)}
    if isinstance(v, dict):
        return {"$type": "JSON", "value": v}
    if isinstance(v, (list, tuple)):
        return [encode_param(x) for x in v]
    if type(v).__name__ in ("Json", "Jsonb") and hasattr(v, "obj"):
        # psycopg's JSON wrappers, which the ORM's PostgreSQL adapters produce for dict/list fields.
        return {"$type": "JSON", "value": v.obj}
    if isinstance(v, dt.timedelta):
        return f"{v.total_seconds()} seconds"
    raise TypeConversionError(f"sqlgate cannot send a parameter of type {type(v).__name__}")


def encode_params(params: Optional[Sequence[Any]]) -> List[Any]:
    return [encode_param(p) for p in params] if params else []


# --- results -----------------------------------------------------------------------------------------


def _tagged(v: Dict[str, Any]) -> Any:
    t = v.get("$type")
    if t == "BLOB":
        return base64.b64decode(v["base64"])
    if t == "BIGINT":
        return int(v["value"])
    if t == "DOUBLE":
        return float(v["value"])
    return v


def _float(v: Any) -> Any:
    if isinstance(v, str):
        return float(v)  # "NaN", "Infinity", "-Infinity"
    return float(v) if isinstance(v, int) else v


def _datetime(v: str) -> dt.datetime:
    return dt.datetime.fromisoformat(v.replace("Z", "+00:00"))


def _time(v: str) -> dt.time:
    return dt.time.fromisoformat(v)


def _mysql_time(v: str) -> dt.timedelta:
    # mysql-connector returns TIME as a timedelta (TIME is a duration, -838:59:59 .. 838:59:59).
    neg = v.startswith("-")
    h, m, s = v.lstrip("-").split(":")
    delta = dt.timedelta(hours=int(h), minutes=int(m), seconds=float(s))
    return -delta if neg else delta


Decoder = Callable[[Any], Any]

_COMMON: Dict[str, Decoder] = {
    "BIGINT": int,
    "SMALLINT": int,
    "INTEGER": int,
    "DECIMAL": decimal.Decimal,
    "FLOAT": _float,
    "DOUBLE": _float,
    "BLOB": base64.b64decode,
    "DATE": dt.date.fromisoformat,
    "TIME": _time,
    "DATETIME": _datetime,
    "TIMESTAMP": _datetime,
}

_POSTGRES: Dict[str, Decoder] = {**_COMMON, "UUID": uuid.UUID}
# mysql-connector: TIME as timedelta, JSON as text, BOOLEAN (TINYINT(1)) as int, UUID is just CHAR(36).
_MYSQL: Dict[str, Decoder] = {
    **_COMMON,
    "TIME": _mysql_time,
    "BOOLEAN": int,
    "JSON": lambda v: json.dumps(v, separators=(", ", ": ")) if not isinstance(v, str) else v,
}

DECODERS: Dict[str, Dict[str, Decoder]] = {"postgres": _POSTGRES, "mysql": _MYSQL}


def _sqlite_bytes(v: Any) -> bytes:
    """A stored value as the bytes sqlite3 hands a converter (sqlite3_column_blob of the value)."""
    if isinstance(v, bytes):
        return v
    return (v if isinstance(v, str) else repr(v)).encode("utf-8")


def sqlite_columns(columns: List[Dict[str, Any]], detect_types: int) -> List[tuple]:
    """(name, converter or None) per column, as the sqlite3 module with ``detect_types`` sees them.

    PARSE_COLNAMES: ``"x [timestamp]"`` names the converter and the column is called ``x``; PARSE_DECLTYPES:
    the first word of the declared type (our ``dbType``) does. Converters are the ones registered with
    ``sqlite3.register_converter`` in this process, exactly as for the ORM's direct SQLite backend.
    """
    import sqlite3

    out = []
    for c in columns:
        name, conv = c["name"], None
        if detect_types & sqlite3.PARSE_COLNAMES and "[" in name:
            start = name.index("[")
            end = name.find("]", start)
            if end > start:
                conv = sqlite3.converters.get(name[start + 1 : end].upper())
            name = name[:start].rstrip()
        if conv is None and detect_types & sqlite3.PARSE_DECLTYPES and c.get("dbType"):
            decl = re.split(r"[\s(]", c["dbType"].strip(), maxsplit=1)[0]
            conv = sqlite3.converters.get(decl.upper())
        out.append((name, conv))
    return out


def decode_rows(
    flavor: str, columns: List[Dict[str, Any]], rows: List[List[Any]], detect_types: int = 0
) -> List[tuple]:
    """Rows as tuples of the Python values the database's native driver would have returned."""
    if flavor == "sqlite":
        # Raw mode: the JSON type is the storage class; only tags need decoding, then sqlite3's converters.
        convs = [conv for _, conv in sqlite_columns(columns, detect_types)] if detect_types else []
        out_rows = []
        for row in rows:
            vals = [_tagged(v) if isinstance(v, dict) else v for v in row]
            if convs:
                vals = [v if v is None or conv is None else conv(_sqlite_bytes(v)) for v, conv in zip(vals, convs)]
            out_rows.append(tuple(vals))
        return out_rows
    table = DECODERS[flavor]
    decoders = [table.get(c.get("type", "")) for c in columns]
    out = []
    for row in rows:
        out.append(
            tuple(
                None if v is None else (dec(v) if dec is not None else v)
                for v, dec in zip(row, decoders)
            )
        )
    return out
