"""The contract between the Cloud Control emulator and moto: one small class per CloudFormation type.

A `MotoResourceType` reads resources that moto's own service APIs created, straight from moto's
in-process backends, and translates each into the type's CloudFormation shape (the `Properties`
Cloud Control returns). Registering a class is all it takes for the type to appear in Cloud Control;
the emulator handles paging, errors and everything else.
"""

from __future__ import annotations

import secrets
import string
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from moto.core.exceptions import ServiceException
from werkzeug.exceptions import HTTPException

from port_aws_exporter.local.aws.cloudcontrol.errors import CloudControlError
from port_aws_exporter.local.aws.resource_defaults import tag_pairs

PARTITION = "aws"
# moto raises service errors from two roots: the newer ServiceException, and older werkzeug HTTP errors.
MOTO_ERRORS = (ServiceException, HTTPException)


@dataclass(frozen=True)
class SourceContext:
    """Whose resources to read: the caller's account and region, and the URL it used to reach us."""

    account_id: str
    region: str
    base_url: str = "http://127.0.0.1"


class MotoResourceType(ABC):
    """How one CloudFormation type is read from (and deleted in, or created in) moto's backends."""

    type_name: ClassVar[str]

    @abstractmethod
    def identifiers(self, ctx: SourceContext) -> list[str]:
        """Cloud Control identifiers of every resource of this type, in a stable order. Must be cheap."""

    @abstractmethod
    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        """The resource's CloudFormation properties, None when it does not exist."""

    @abstractmethod
    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        """Delete through moto; False when it did not exist."""

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        """Create through moto and return the identifier; None when this type cannot (the emulator then
        keeps the resource in its generic store instead)."""
        return None


MOTO_RESOURCE_TYPES: dict[str, MotoResourceType] = {}

_T = TypeVar("_T", bound=type[MotoResourceType])


def moto_resource_type(cls: _T) -> _T:
    """Class decorator: register one instance of `cls` for its `type_name`."""
    MOTO_RESOURCE_TYPES[cls.type_name] = cls()
    return cls


def tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    """`{"k": "v"}` -> `[{"Key": "k", "Value": "v"}]`, the CloudFormation tag shape."""
    return tag_pairs(tags or {})


def tag_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """`[{"Key": "k", "Value": "v"}]` (any key casing) -> `{"k": "v"}`."""
    result = {}
    for tag in tags or ():
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            result[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return result


def pascal_keys(value: Any) -> Any:
    """Service API shapes use `camelCase` keys where CloudFormation uses `PascalCase`: convert, deeply."""
    if isinstance(value, Mapping):
        return {key[:1].upper() + key[1:]: pascal_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal_keys(item) for item in value]
    return value


def generated_name(type_name: str) -> str:
    """A name like CloudFormation generates when none is given: `Queue-8RZ3K0P1X2QWM`."""
    alphabet = string.ascii_uppercase + string.digits
    return type_name.rpartition("::")[2] + "-" + "".join(secrets.choice(alphabet) for _ in range(13))


def without_empty(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Drop properties that are None, empty strings, lists or dicts (Cloud Control omits unset ones)."""
    return {key: value for key, value in properties.items() if value not in (None, "", [], {})}


def moto_failure(type_name: str, identifier: str, error: Exception) -> CloudControlError:
    """A moto error during a Cloud Control-driven change, reported with what was being done."""
    return CloudControlError(
        "GeneralServiceException", f"moto refused the change to {type_name} '{identifier}': {error}"
    )
