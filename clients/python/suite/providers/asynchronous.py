"""Async providers: the sync providers' setups, run with the testsuite's Async… models on the async
backend of the same path (direct or sqlgate), with the tables created and dropped by awaited statements.

``asyncify(BasicProvider, IBasicAsyncProvider)`` makes a class whose every ``setup_*`` method is a
coroutine: it runs the sync method with ``model()`` returning Async… twins and ``setup_models`` only
recording which models and tables were asked for, then configures those models (``await configure``) and
creates their tables (the same generated DDL as the sync runs), so the async runs test the same schemas.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple, Type

from . import scenarios
from .base import _DDL, ASYNC_MODELS, ProviderBase
from .schema import create_table, drop_table

_HELPERS = {"setup_models", "setup_one", "setup_all"}


class AsyncProviderBase(ProviderBase):
    def __init__(self) -> None:
        super().__init__()
        self._requested: List[Tuple[str, Sequence[Tuple[Type[Any], str]]]] = []

    def setup_models(self, scenario: str, pairs: Sequence[Tuple[Type[Any], str]]) -> Tuple[Type[Any], ...]:
        """Inside a sync setup method: remember the request; the coroutine wrapper carries it out."""
        self._requested.append((scenario, list(pairs)))
        return tuple(m for m, _ in pairs)

    async def _carry_out(self) -> None:
        requested, self._requested = self._requested, []
        try:
            await self._create(requested)
        except BaseException:
            # A failed setup never reaches the fixture's cleanup: close what was opened (pinned sessions
            # would otherwise hold the gateway's connections until their idle timeout).
            await self.cleanup_after_test("")
            raise

    async def _create(self, requested: List[Tuple[str, Sequence[Tuple[Type[Any], str]]]]) -> None:
        for scenario, pairs in requested:
            backend_cls, config = scenarios.get_scenario(scenario, asynchronous=True)
            pairs = [(m, t or m.table_name()) for m, t in pairs]
            shared = None
            for model_cls, _ in pairs:
                if shared is None:
                    await model_cls.configure(config, backend_cls)
                    shared = model_cls.__backend__
                    self._backends.append(shared)
                else:
                    model_cls.__connection_config__ = config
                    model_cls.__backend_class__ = backend_cls
                    model_cls.__backend__ = shared
            for _, table in reversed(pairs):
                await shared.execute(drop_table(scenarios.DB, table), options=_DDL)
            for model_cls, table in pairs:
                await shared.execute(create_table(scenarios.DB, model_cls, table), options=_DDL)
                self._tables.append((shared, table))

    async def cleanup_after_test(self, scenario_name: str) -> None:  # type: ignore[override]
        for backend, table in reversed(self._tables):
            try:
                await backend.execute(drop_table(scenarios.DB, table), options=_DDL)
            except Exception:  # noqa: BLE001 - a test may have left the connection unusable
                pass
        for backend in self._backends:
            try:
                await backend.disconnect()
            except Exception:  # noqa: BLE001
                pass
        self._tables.clear()
        self._backends.clear()


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    async def setup(self: AsyncProviderBase, *args: Any, **kwargs: Any) -> Any:
        token = ASYNC_MODELS.set(True)
        try:
            result = fn(self, *args, **kwargs)
        finally:
            ASYNC_MODELS.reset(token)
        await self._carry_out()
        return result

    setup.__name__ = fn.__name__
    return setup


def asyncify(sync_cls: Type[Any], interface: Type[Any]) -> Type[Any]:
    """An async provider class for ``interface`` made of ``sync_cls``'s setup methods."""
    namespace: Dict[str, Any] = {}
    for name in dir(sync_cls):
        if name.startswith("setup_") and name not in _HELPERS and callable(getattr(sync_cls, name)):
            namespace[name] = _wrap(getattr(sync_cls, name))
    # Non-setup methods that do I/O have an explicit async twin, `<name>_async`, on the sync provider.
    for name in ("get_dialect", "load_relation_boundary_dataset"):
        if hasattr(sync_cls, f"{name}_async"):
            namespace[name] = getattr(sync_cls, f"{name}_async")
    return type(f"Async{sync_cls.__name__}", (AsyncProviderBase, sync_cls, interface), namespace)
