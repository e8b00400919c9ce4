"""TESTSUITE_PROVIDER_REGISTRY=providers.registry:provider_registry (with clients/python/suite on sys.path)."""
from rhosocial.activerecord.testsuite.core.registry import ProviderRegistry
from rhosocial.activerecord.testsuite.feature.basic.interfaces import IBasicAsyncProvider
from rhosocial.activerecord.testsuite.feature.events.interfaces import IEventsAsyncProvider
from rhosocial.activerecord.testsuite.feature.mixins.interfaces import IMixinsAsyncProvider
from rhosocial.activerecord.testsuite.feature.query.interfaces import IQueryAsyncProvider
from rhosocial.activerecord.testsuite.feature.relation.interfaces import IRelationAsyncProvider

from .asynchronous import asyncify
from .basic import BasicProvider
from .events_mixins import EventsProvider, MixinsProvider
from .query import QueryProvider
from .relation import RelationProvider

provider_registry = ProviderRegistry()
for key in ("feature.basic.IBasicProvider", "feature.basic.IBasicSyncProvider"):
    provider_registry.register(key, BasicProvider)
provider_registry.register("feature.events.IEventsSyncProvider", EventsProvider)
provider_registry.register("feature.mixins.IMixinsSyncProvider", MixinsProvider)
provider_registry.register("feature.query.IQuerySyncProvider", QueryProvider)
# The async groups: the same setups with the Async… models on the async backends.
provider_registry.register("feature.basic.IBasicAsyncProvider", asyncify(BasicProvider, IBasicAsyncProvider))
provider_registry.register("feature.events.IEventsAsyncProvider", asyncify(EventsProvider, IEventsAsyncProvider))
provider_registry.register("feature.mixins.IMixinsAsyncProvider", asyncify(MixinsProvider, IMixinsAsyncProvider))
provider_registry.register("feature.query.IQueryAsyncProvider", asyncify(QueryProvider, IQueryAsyncProvider))
provider_registry.register("feature.relation.IRelationSyncProvider", RelationProvider)
provider_registry.register("feature.relation.IRelationAsyncProvider", asyncify(RelationProvider, IRelationAsyncProvider))
