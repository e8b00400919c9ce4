"""sqlgate remote backends for rhosocial-activerecord.

The ORM keeps its dialects, type adapters and transaction logic on the client; statements (BEGIN,
SAVEPOINT and COMMIT included) travel over HTTP to a sqlgate server, one pinned session per connection.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple, Type

from .common import SqlgateBackendMixin, describe_backends, pick_backend
from .config import SqlgateConnectionConfig, SqlgateOptions

__version__ = "0.1.0"

_KINDS: Dict[str, Tuple[str, str, str]] = {
    # gateway driver -> (module, backend class, config class)
    "sqlite": ("sqlite", "SqlgateSQLiteBackend", "SqlgateSQLiteConfig"),
    "postgres": ("postgres", "SqlgatePostgresBackend", "SqlgatePostgresConfig"),
    "mysql": ("mysql", "SqlgateMySQLBackend", "SqlgateMySQLConfig"),
}

_ASYNC_KINDS: Dict[str, Tuple[str, str, str]] = {
    "sqlite": ("async_sqlite", "AsyncSqlgateSQLiteBackend", "SqlgateSQLiteConfig"),
    "postgres": ("async_postgres", "AsyncSqlgatePostgresBackend", "SqlgatePostgresConfig"),
    "mysql": ("async_mysql", "AsyncSqlgateMySQLBackend", "SqlgateMySQLConfig"),
}

_OPTION_FIELDS = (
    "sqlgate_url", "sqlgate_token", "sqlgate_backend", "sqlgate_timeout", "sqlgate_connect_timeout",
    "sqlgate_session_idle_timeout_ms", "sqlgate_scratch",
)


def backend_classes(driver: str, asynchronous: bool = False) -> Tuple[Type[Any], Type[Any]]:
    """(backend class, config class) for a gateway driver name; imports only that database's ORM package.
    ``asynchronous`` picks the AsyncSqlgate… backend (for AsyncActiveRecord models)."""
    import importlib

    kinds = _ASYNC_KINDS if asynchronous else _KINDS
    if driver not in kinds:
        raise ValueError(f"sqlgate driver {driver!r} has no ORM backend here (known: {', '.join(kinds)})")
    module, backend, config = kinds[driver]
    mod = importlib.import_module(f"{__name__}.{module}")
    return getattr(mod, backend), getattr(mod, config)


def resolve_backend(config: SqlgateOptions, **extra: Any) -> Tuple[Type[Any], Any]:
    """Asks the gateway which database ``config.sqlgate_backend`` is (GET /v1/backends) and returns the
    backend class and config for it, ready for ``Model.configure(config, backend_class)``."""
    info = pick_backend(describe_backends(config), config.sqlgate_backend)
    backend_cls, config_cls = backend_classes(info["driver"])
    values = {f: getattr(config, f) for f in _OPTION_FIELDS}
    values["sqlgate_backend"] = info["name"]
    return backend_cls, config_cls(**values, **extra)


async def resolve_async_backend(config: SqlgateOptions, **extra: Any) -> Tuple[Type[Any], Any]:
    """:func:`resolve_backend` for async models: the AsyncSqlgate… backend class and its config, asked of
    the gateway without blocking the event loop."""
    from .async_common import describe_backends_async

    info = pick_backend(await describe_backends_async(config), config.sqlgate_backend)
    backend_cls, config_cls = backend_classes(info["driver"], asynchronous=True)
    values = {f: getattr(config, f) for f in _OPTION_FIELDS}
    values["sqlgate_backend"] = info["name"]
    return backend_cls, config_cls(**values, **extra)


__all__ = [
    "SqlgateBackendMixin", "SqlgateConnectionConfig", "SqlgateOptions", "backend_classes", "resolve_backend",
    "resolve_async_backend",
    "describe_backends",
]
