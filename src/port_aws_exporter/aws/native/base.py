"""What the native fetchers share: JSON-safe documents, error translation, the list loop."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetch_errors import error_code, none_if_not_found, translated_errors
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ListedPage, ResourceDocument
from port_aws_exporter.core.kinds.registry import KindSpec

Result = TypeVar("Result")


def json_safe(value: Any) -> Any:
    """A copy of an SDK response with datetimes as ISO 8601 strings and bytes as text."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


class NativeFetcher:
    """A native fetcher: subclasses say how to list documents and how to read one."""

    service = ""

    def __init__(self, spec: KindSpec, clients: AwsClients) -> None:
        self.kind = spec.kind
        self.spec = spec
        self._clients = clients

    def client(self, region: str) -> Any:
        return self._clients.client(self.service, region)

    def translated_errors(self, region: str, identifier: str | None = None) -> AbstractContextManager[None]:
        """botocore failures → FetchError naming the kind, region and resource."""
        return translated_errors(self.kind, region, identifier)

    def call_or_none(
        self, region: str, identifier: str, not_found: frozenset[str], operation: Callable[[], Result]
    ) -> Result | None:
        """`operation()`, or None when AWS answers with one of the `not_found` error codes."""
        return none_if_not_found(self.kind, region, identifier, lambda error: error_code(error) in not_found, operation)

    def paginate(self, region: str, operation: str, result_key: str, parameters: dict[str, Any]) -> Iterator[list[Any]]:
        """The items of a paginated describe call, a page at a time."""
        with self.translated_errors(region):
            for page in self.client(region).get_paginator(operation).paginate(**parameters):
                yield page.get(result_key, [])

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        raise NotImplementedError

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        raise NotImplementedError
