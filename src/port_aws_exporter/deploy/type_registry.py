"""Handler permissions of kinds the registry does not know, from CloudFormation's type registry.

`DescribeType` returns a type's schema; its `handlers.list.permissions` and `handlers.read.permissions`
are what Cloud Control's handlers call to list and read it. The account's registry is asked once per
kind; when it cannot be reached at all (no credentials, no region, no network) the first failure is
remembered and every later kind gets the same answer without another attempt.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from port_aws_exporter.core.kinds.registry import HandlerPermissions

_CONNECT_TIMEOUT_SECONDS = 3
_READ_TIMEOUT_SECONDS = 10
_MAX_ATTEMPTS = 2
_FALLBACK_REGION = "us-east-1"


class TypeLookupError(Exception):
    """A kind's handler permissions could not be found; the message says why."""


class TypeNotRegistered(TypeLookupError):
    """The registry answered: no such type, or no read handler."""


class TypeRegistryUnavailable(TypeLookupError):
    """The registry could not be asked (credentials, region, network, permission)."""


class TypeRegistry(Protocol):
    """Where handler permissions of unregistered kinds come from."""

    def handler_permissions(self, kind: str) -> HandlerPermissions:
        """The list and read handler permissions of `kind`; raises TypeLookupError."""


class CloudFormationTypeRegistry:
    """The account's CloudFormation type registry, through `DescribeType`."""

    def __init__(self, client: Any = None, *, region: str | None = None) -> None:
        self._client = client
        self._region = region
        self._unavailable: TypeRegistryUnavailable | None = None

    def handler_permissions(self, kind: str) -> HandlerPermissions:
        if self._unavailable is not None:
            raise self._unavailable
        schema = self._schema(kind)
        handlers = schema.get("handlers") or {}
        if "read" not in handlers:
            raise TypeNotRegistered(f"{kind} has no read handler: Cloud Control cannot read it")
        return HandlerPermissions(
            list=tuple((handlers.get("list") or {}).get("permissions") or ()),
            read=tuple((handlers.get("read") or {}).get("permissions") or ()),
        )

    def _schema(self, kind: str) -> dict[str, Any]:

        try:
            response = self._cloudformation().describe_type(Type="RESOURCE", TypeName=kind)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            if code in {"TypeNotFoundException", "CFNRegistryException"}:
                raise TypeNotRegistered(f"{kind} is not a registered CloudFormation type: {message or code}") from None
            self._unavailable = TypeRegistryUnavailable(f"CloudFormation DescribeType failed: {code} {message}".strip())
            raise self._unavailable from None
        except BotoCoreError as error:
            # No credentials, no region, an unreachable endpoint: the same for every kind.
            self._unavailable = TypeRegistryUnavailable(f"CloudFormation's type registry is not reachable: {error}")
            raise self._unavailable from None
        try:
            schema: dict[str, Any] = json.loads(response["Schema"])
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise TypeNotRegistered(f"DescribeType returned no readable schema for {kind}: {error}") from None
        return schema

    def _cloudformation(self) -> Any:
        if self._client is None:
            config = Config(
                connect_timeout=_CONNECT_TIMEOUT_SECONDS,
                read_timeout=_READ_TIMEOUT_SECONDS,
                retries={"mode": "standard", "max_attempts": _MAX_ATTEMPTS},
            )
            session = boto3.session.Session()
            # Public resource types are the same in every region: any region will do when none is set.
            region = self._region or session.region_name or _FALLBACK_REGION
            self._client = session.client("cloudformation", region_name=region, config=config)
        return self._client
