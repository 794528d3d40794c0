"""The changes `local change` can make, one class per kind, registered by kind name.

Each class makes the four actions through the kind's service API on a `ChangeContext` and returns
the resource's Cloud Control identifier. What a change does is small and visible in the catalog:
create makes a minimal resource, update changes one setting (memory size, visibility timeout,
desired count...), tag sets the tag `local-change` to the time of the change, delete deletes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal, TypeVar

from port_aws_exporter.local.aws.changes.context import ChangeContext
from port_aws_exporter.local.aws.resource_defaults import assume_role_policy

__all__ = [
    "ACTIONS",
    "CHANGE_TAG",
    "CREATED_TAGS",
    "KIND_CHANGES",
    "LAMBDA_TRUST_POLICY",
    "Action",
    "ResourceChanges",
    "registered",
]

Action = Literal["create", "update", "tag", "delete"]
ACTIONS: tuple[Action, ...] = ("create", "update", "tag", "delete")
CHANGE_TAG = "local-change"
CREATED_TAGS = {"managed-by": "port-aws-exporter", "created-by": "local-change"}
LAMBDA_TRUST_POLICY = assume_role_policy("lambda.amazonaws.com")


class ResourceChanges(ABC):
    """The four changes of one kind; each returns the resource's Cloud Control identifier."""

    kind: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()

    def run(self, ctx: ChangeContext, action: Action, name: str) -> str:
        """Make `action` on the resource `name`."""
        return {"create": self.create, "update": self.update, "tag": self.tag, "delete": self.delete}[action](ctx, name)

    @abstractmethod
    def create(self, ctx: ChangeContext, name: str) -> str:
        """Create a minimal resource named `name`."""

    @abstractmethod
    def update(self, ctx: ChangeContext, name: str) -> str:
        """Change one visible setting of the resource."""

    @abstractmethod
    def tag(self, ctx: ChangeContext, name: str) -> str:
        """Set the tag `local-change` to the change's time."""

    @abstractmethod
    def delete(self, ctx: ChangeContext, name: str) -> str:
        """Delete the resource."""


KIND_CHANGES: dict[str, ResourceChanges] = {}
_Changes = TypeVar("_Changes", bound=type[ResourceChanges])


def registered(cls: _Changes) -> _Changes:
    """Class decorator: make the kind's changes available to `make_change`."""
    KIND_CHANGES[cls.kind] = cls()
    return cls
