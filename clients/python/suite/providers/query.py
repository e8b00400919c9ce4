"""Provider for the testsuite's `query` group (sync)."""
from __future__ import annotations

from typing import Any, Tuple, Type

from rhosocial.activerecord.testsuite.feature.query.interfaces import IQuerySyncProvider

from .base import ProviderBase, model

M = "query.fixtures.models"
EXT = "query.fixtures.extended_models"
CTE = "query.fixtures.cte_models"
ANN = "query.fixtures.annotated_adapter_models"


class QueryProvider(ProviderBase, IQuerySyncProvider):
    def setup_order_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "User"), model(M, "Order"), model(M, "OrderItem"))

    def setup_blog_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "User"), model(M, "Post"), model(M, "Comment"))

    def setup_json_user_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "JsonUser"))

    def setup_tree_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(CTE, "Node"))

    def setup_extended_order_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(EXT, "User"), model(EXT, "ExtendedOrder"), model(EXT, "ExtendedOrderItem"))

    def setup_combined_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(
            s, model(M, "User"), model(M, "Order"), model(M, "OrderItem"), model(M, "Post"), model(M, "Comment")
        )

    def setup_annotated_query_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(ANN, "SearchableItem"))

    def setup_mapped_models(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "MappedUser"), model(M, "MappedPost"), model(M, "MappedComment"))

    def setup_profile_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "User"), model(M, "Profile"))

    def setup_order_item_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "OrderItem"))
