"""One view over every resource Cloud Control can see: moto's (translated) and the generic store's.

For a type with a registered `MotoResourceType`, resources created through the service APIs come
first, then any the generic store holds; every other schema type lives in the generic store only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from port_aws_exporter.local.aws.cloudcontrol.moto_types import (
    MOTO_RESOURCE_TYPES,
    MotoResourceType,
    SourceContext,
)
from port_aws_exporter.local.aws.cloudcontrol.moto_types.base import PARTITION, generated_name
from port_aws_exporter.local.aws.cloudcontrol.schemas import ResourceSchema
from port_aws_exporter.local.aws.cloudcontrol.store import GenericResourceStore


class ResourceView:
    """Read, list, create and delete resources of any type, whichever side keeps them."""

    def __init__(
        self, store: GenericResourceStore, moto_types: Mapping[str, MotoResourceType] = MOTO_RESOURCE_TYPES
    ) -> None:
        self.store = store
        self.moto_types = moto_types

    def is_moto_backed(self, type_name: str) -> bool:
        """True when resources of this type are read from moto's backends."""
        return type_name in self.moto_types

    def identifiers(self, ctx: SourceContext, type_name: str) -> list[str]:
        """Every identifier of the type, in a stable order."""
        moto_type = self.moto_types.get(type_name)
        from_moto = moto_type.identifiers(ctx) if moto_type else []
        return from_moto + self.store.identifiers(ctx.account_id, ctx.region, type_name)

    def read(self, ctx: SourceContext, type_name: str, identifier: str) -> dict[str, Any] | None:
        """The resource model, None when no such resource exists."""
        moto_type = self.moto_types.get(type_name)
        if moto_type is not None:
            model = moto_type.read(ctx, identifier)
            if model is not None:
                return model
        return self.store.get(ctx.account_id, ctx.region, type_name, identifier)

    def delete(self, ctx: SourceContext, type_name: str, identifier: str) -> bool:
        """Delete the resource wherever it lives; False when it did not exist."""
        moto_type = self.moto_types.get(type_name)
        if moto_type is not None and moto_type.delete(ctx, identifier):
            return True
        return self.store.delete(ctx.account_id, ctx.region, type_name, identifier)

    def create(self, ctx: SourceContext, schema: ResourceSchema, desired: Mapping[str, Any]) -> str:
        """Create the resource (in moto when its type supports it) and return its identifier.

        Raises `KeyError` with the identifier when a resource with that identifier already exists.
        """
        moto_type = self.moto_types.get(schema.type_name)
        if moto_type is not None:
            known = schema.identifier_of(desired)
            if known is not None and moto_type.read(ctx, known) is not None:
                raise KeyError(known)
            identifier = moto_type.create(ctx, desired)
            if identifier is not None:
                return identifier
        model = with_generated_properties(ctx, schema, desired)
        identifier = schema.identifier_of(model)
        if identifier is None:
            raise ValueError(f"cannot derive the identifier {schema.primary_identifier} of {schema.type_name}")
        if self.read(ctx, schema.type_name, identifier) is not None:
            raise KeyError(identifier)
        self.store.put(ctx.account_id, ctx.region, schema.type_name, identifier, model)
        return identifier

    def replace_stored(self, ctx: SourceContext, type_name: str, identifier: str, model: Mapping[str, Any]) -> None:
        """Overwrite a generic-store resource's model."""
        self.store.put(ctx.account_id, ctx.region, type_name, identifier, dict(model))


def with_generated_properties(ctx: SourceContext, schema: ResourceSchema, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The desired state plus what AWS would generate: a missing identifier part, read-only strings."""
    model = dict(desired)
    for name in (*schema.primary_identifier, *sorted(schema.read_only)):
        if model.get(name) in (None, "") and _is_string(schema, name):
            model[name] = _generated_value(ctx, schema, name, model)
    return model


def _is_string(schema: ResourceSchema, name: str) -> bool:
    definition = schema.properties.get(name, {})
    return definition.get("type", "string") == "string" and "$ref" not in definition


def _generated_value(ctx: SourceContext, schema: ResourceSchema, name: str, model: Mapping[str, Any]) -> str:
    _, service, resource = schema.type_name.split("::")
    if name.endswith("Arn"):
        suffix = next((str(model[p]) for p in schema.primary_identifier if model.get(p)), secrets.token_hex(8))
        return f"arn:{PARTITION}:{service.lower()}:{ctx.region}:{ctx.account_id}:{resource.lower()}/{suffix}"
    if name.endswith("Id") and len(name) > 2:
        return f"{name[:-2].lower()}-{secrets.token_hex(9)[:17]}"
    if name.endswith("Name"):
        return generated_name(schema.type_name)
    return secrets.token_hex(8)
