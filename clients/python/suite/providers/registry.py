"""TESTSUITE_PROVIDER_REGISTRY=providers.registry:provider_registry (with clients/python/suite on sys.path)."""
from rhosocial.activerecord.testsuite.core.registry import ProviderRegistry

from .basic import BasicProvider
from .events_mixins import EventsProvider, MixinsProvider
from .query import QueryProvider

provider_registry = ProviderRegistry()
for key in ("feature.basic.IBasicProvider", "feature.basic.IBasicSyncProvider"):
    provider_registry.register(key, BasicProvider)
provider_registry.register("feature.events.IEventsSyncProvider", EventsProvider)
provider_registry.register("feature.mixins.IMixinsSyncProvider", MixinsProvider)
provider_registry.register("feature.query.IQuerySyncProvider", QueryProvider)
