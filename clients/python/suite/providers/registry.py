"""TESTSUITE_PROVIDER_REGISTRY=providers.registry:provider_registry (with clients/python/suite on sys.path)."""
from rhosocial.activerecord.testsuite.core.registry import ProviderRegistry

from .basic import BasicProvider

provider_registry = ProviderRegistry()
for key in ("feature.basic.IBasicProvider", "feature.basic.IBasicSyncProvider"):
    provider_registry.register(key, BasicProvider)
