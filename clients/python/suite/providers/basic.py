from __future__ import annotations

from typing import Any, Tuple, Type

from rhosocial.activerecord.testsuite.feature.basic.interfaces import IBasicSyncProvider

from .base import ProviderBase, model

M = "basic.fixtures.models"


class BasicProvider(ProviderBase, IBasicSyncProvider):
    def get_yes_no_adapter(self) -> Any:
        return model(M, "YesOrNoBooleanAdapter")()

    def get_dialect(self, scenario_name: str = "default") -> Any:
        from . import scenarios

        # Adapted to the real server version, as the DDL tests' capability checks (supports_drop_constraint
        # and friends) read dialect.version; the backend is closed again.
        backend_cls, config = scenarios.get_scenario(scenario_name)
        backend = backend_cls(connection_config=config)
        try:
            backend.connect()
            backend.introspect_and_adapt()
            return backend.dialect
        finally:
            backend.disconnect()

    async def get_dialect_async(self, scenario_name: str = "default") -> Any:
        from . import scenarios

        backend_cls, config = scenarios.get_scenario(scenario_name, asynchronous=True)
        backend = backend_cls(connection_config=config)
        try:
            await backend.connect()
            await backend.introspect_and_adapt()
            return backend.dialect
        finally:
            await backend.disconnect()

    def setup_user_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "User"))

    def setup_type_case_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "TypeCase"))

    def setup_type_test_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "TypeTestModel"))

    def setup_validated_field_user_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "ValidatedFieldUser"))

    def setup_validated_user_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "ValidatedUser"))

    def setup_pydantic_validated_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "PydanticValidatedModel"))

    def setup_mapped_models(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "MappedUser"), model(M, "MappedPost"), model(M, "MappedComment"))

    def setup_mixed_models(self, s: str) -> Tuple[Type[Any], ...]:
        return self.setup_all(s, model(M, "ColumnMappingModel"), model(M, "MixedAnnotationModel"))

    def setup_type_adapter_model_and_schema(self, scenario_name: str = None) -> Type[Any]:  # type: ignore[assignment]
        return self.setup_one(scenario_name or self.get_test_scenarios()[0], model(M, "TypeAdapterTest"))

    def setup_bulk_user_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "BulkUser"))

    def setup_order_item_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "OrderItem"))

    def setup_order_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "Order"))

    def setup_mapped_order_item_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "MappedOrderItem"))

    def setup_product_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "Product"))

    def setup_product_form_a_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "ProductFormA"))

    def setup_product_with_proxy_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "ProductWithProxy"))

    def setup_product_with_column_and_adapter_model(self, s: str) -> Type[Any]:
        return self.setup_one(s, model(M, "ProductWithColumnAndAdapter"))
