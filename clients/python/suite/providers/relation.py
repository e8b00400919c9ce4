"""Provider for the testsuite's `relation` group (sync; the async one is asyncify()'d from it, with the
boundary datasets loaded by awaited saves)."""
from __future__ import annotations

from typing import Any, Dict, Tuple, Type

from rhosocial.activerecord.testsuite.feature.relation.interfaces import IRelationSyncProvider

from .base import ProviderBase, model

M = "relation.fixtures.models"
_MISSING_OWNER_ID = 987654


def _datasets(owner: Type[Any], profile: Type[Any], post: Type[Any]) -> Dict[str, Any]:
    """Each boundary dataset as (records to save in order, how to name their ids)."""
    return {
        "null_foreign_key": lambda: [("profile_id", profile(bio="no owner", owner_id=None))],
        "orphan_foreign_key": lambda: [("post_id", post(title="orphan", owner_id=_MISSING_OWNER_ID))],
        "owner_without_children": lambda: [("owner_id", owner(name="alone"))],
        "multiple_has_one_matches": lambda: [("owner_id", owner(name="two profiles"))],
    }


class RelationProvider(ProviderBase, IRelationSyncProvider):
    _boundary: Tuple[Type[Any], ...] = ()

    def setup_employee_department_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "Employee"), model(M, "Department"))

    def setup_author_book_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "Author"), model(M, "Book"), model(M, "Chapter"), model(M, "Profile"))

    def setup_user_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "User"))

    def setup_post_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "Post"))

    def setup_comment_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "Comment"))

    def setup_relation_boundary_fixtures(self, s: str) -> Tuple[Type[Any], ...]:
        self._boundary = self.setup_all(
            s, model(M, "BoundaryOwner"), model(M, "BoundaryProfile"), model(M, "BoundaryPost")
        )
        return self._boundary

    def load_relation_boundary_dataset(self, scenario_name: str, dataset_name: str) -> Dict[str, int]:
        owner, profile, _ = self._boundary
        ids: Dict[str, int] = {}
        for key, record in _datasets(*self._boundary)[dataset_name]():
            record.save()
            ids[key] = record.id
        if dataset_name == "orphan_foreign_key":
            ids["missing_owner_id"] = _MISSING_OWNER_ID
        if dataset_name == "multiple_has_one_matches":
            for key in ("first_profile_id", "second_profile_id"):
                p = profile(bio=key, owner_id=ids["owner_id"])
                p.save()
                ids[key] = p.id
        return ids

    async def load_relation_boundary_dataset_async(self, scenario_name: str, dataset_name: str) -> Dict[str, int]:
        owner, profile, _ = self._boundary
        ids: Dict[str, int] = {}
        for key, record in _datasets(*self._boundary)[dataset_name]():
            await record.save()
            ids[key] = record.id
        if dataset_name == "orphan_foreign_key":
            ids["missing_owner_id"] = _MISSING_OWNER_ID
        if dataset_name == "multiple_has_one_matches":
            for key in ("first_profile_id", "second_profile_id"):
                p = profile(bio=key, owner_id=ids["owner_id"])
                await p.save()
                ids[key] = p.id
        return ids
