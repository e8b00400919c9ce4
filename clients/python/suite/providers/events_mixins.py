"""Providers for the testsuite's `events` and `mixins` groups (sync): one model each, same table setup."""
from __future__ import annotations

from typing import Any, Type

from rhosocial.activerecord.testsuite.feature.events.interfaces import IEventsSyncProvider
from rhosocial.activerecord.testsuite.feature.mixins.interfaces import IMixinsSyncProvider

from .base import ProviderBase, model

EVENTS = "events.fixtures.models"
MIXINS = "mixins.fixtures.models"


class EventsProvider(ProviderBase, IEventsSyncProvider):
    def setup_event_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(EVENTS, "EventTestModel"))

    def setup_event_tracking_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(EVENTS, "EventTrackingModel"))


class MixinsProvider(ProviderBase, IMixinsSyncProvider):
    def setup_timestamped_post_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(MIXINS, "TimestampedPost"))

    def setup_versioned_product_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(MIXINS, "VersionedProduct"))

    def setup_task_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(MIXINS, "Task"))

    def setup_combined_article_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(MIXINS, "CombinedArticle"))
