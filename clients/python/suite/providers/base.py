"""What every group's provider shares: model lookup, table setup on one shared backend, cleanup."""
from __future__ import annotations

import contextvars
import importlib
import sys
from pathlib import Path
from typing import Any, List, Sequence, Tuple, Type

from rhosocial.activerecord.backend.options import ExecutionOptions
from rhosocial.activerecord.backend.schema import StatementType

from . import scenarios
from .schema import create_table, drop_table

_DDL = ExecutionOptions(stmt_type=StatementType.DDL)


#: Set while an async provider runs a sync provider's setup method: model() then returns the Async… twin.
ASYNC_MODELS: contextvars.ContextVar[bool] = contextvars.ContextVar("ASYNC_MODELS", default=False)


def _variants(path: str) -> List[str]:
    return [f"{path}_py3{m}" for m in (12, 11, 10) if sys.version_info >= (3, m)] + [path]


def model(module: str, name: str) -> Type[Any]:
    """A fixture model from the testsuite, the variant written for this Python version when there is one.

    For an async provider it is ``Async<name>``: looked up in ``async_<module>`` first (the query group
    keeps its async models there), then the other ``async_*`` modules of that fixtures package, then the
    module itself (the basic, events and mixins groups define both kinds side by side)."""
    base = f"rhosocial.activerecord.testsuite.feature.{module}"
    candidates = _variants(base)
    if ASYNC_MODELS.get():
        package, _, leaf = base.rpartition(".")
        siblings = []
        try:
            pkg = importlib.import_module(package)
            siblings = sorted(
                f"{package}.{p.stem}" for p in Path(pkg.__path__[0]).glob("async_*.py") if p.stem != f"async_{leaf}"
            )
        except ImportError:
            pass
        candidates = [f"{package}.async_{leaf}", *siblings, *candidates]
        name = f"Async{name}"
    for path in candidates:
        try:
            mod = importlib.import_module(path)
        except ImportError:
            continue
        found = getattr(mod, name, None)
        if found is not None:
            return found
    raise ImportError(f"{name} not found in {base}")


class ProviderBase:
    """Configures models on this run's backend (direct or sqlgate), one backend per setup call."""

    def __init__(self) -> None:
        self._backends: List[Any] = []
        self._tables: List[Tuple[Any, str]] = []

    def get_test_scenarios(self) -> List[str]:
        return scenarios.scenario_names()

    def setup_models(self, scenario: str, pairs: Sequence[Tuple[Type[Any], str]]) -> Tuple[Type[Any], ...]:
        backend_cls, config = scenarios.get_scenario(scenario)
        pairs = [(m, t or m.table_name()) for m, t in pairs]
        shared = None
        out = []
        # Drop in reverse order (children first), create in order.
        for model_cls, _ in pairs:
            if shared is None:
                model_cls.configure(config, backend_cls)
                shared = model_cls.__backend__
                self._backends.append(shared)
            else:
                model_cls.__connection_config__ = config
                model_cls.__backend_class__ = backend_cls
                model_cls.__backend__ = shared
        try:
            for _, table in reversed(pairs):
                shared.execute(drop_table(scenarios.DB, table), options=_DDL)
            for model_cls, table in pairs:
                shared.execute(create_table(scenarios.DB, model_cls, table), options=_DDL)
                self._tables.append((shared, table))
                out.append(model_cls)
        except BaseException:
            self.cleanup_after_test(scenario)  # the fixture's cleanup never runs after a failed setup
            raise
        return tuple(out)

    def setup_one(self, scenario: str, model_cls: Type[Any], table: str = "") -> Type[Any]:
        return self.setup_models(scenario, [(model_cls, table)])[0]

    def setup_all(self, scenario: str, *models: Type[Any]) -> Tuple[Type[Any], ...]:
        return self.setup_models(scenario, [(m, "") for m in models])

    def cleanup_after_test(self, scenario_name: str) -> None:
        for backend, table in reversed(self._tables):
            try:
                backend.execute(drop_table(scenarios.DB, table), options=_DDL)
            except Exception:  # noqa: BLE001 - a test may have left the connection unusable
                pass
        for backend in self._backends:
            try:
                backend.disconnect()
            except Exception:  # noqa: BLE001
                pass
        self._tables.clear()
        self._backends.clear()
