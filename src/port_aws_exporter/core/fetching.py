"""The fetcher interface the full sync and the event path read AWS through, and what a fetch can fail with.

A fetcher lists the resources of one kind in a region, page by page, and reads one resource by
identifier (None when it does not exist). Where the list call already returns whole documents
(native describe calls, or Cloud Control's list properties when a config opts in), the listed
resource carries its document and needs no read.

The implementations live in `aws/` (Cloud Control, native APIs); `aws.fetchers.fetcher_for` picks
one from the kind registry. The orchestration (`sync/`, `events/`) sees only this interface, so it
never imports boto3.

A failure is a `FetchError`, classified so callers can decide what to do: the full sync reports it
with its kind, region and identifier and skips stale deletion; the event path retries transient
errors through SQS and dead-letters permanent ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.kinds.registry import KindSpec


class FetchErrorKind(StrEnum):
    THROTTLED = "throttled"
    ACCESS_DENIED = "access_denied"
    UNSUPPORTED = "unsupported"
    INVALID_REQUEST = "invalid_request"
    SERVICE_ERROR = "service_error"
    CONNECTION = "connection"


class FetchError(Exception):
    """Reading a kind (or one resource of it) in a region failed."""

    def __init__(
        self, kind: str, region: str, message: str, *, error_kind: FetchErrorKind, identifier: str | None = None
    ) -> None:
        self.kind = kind
        self.region = region
        self.identifier = identifier
        self.error_kind = error_kind
        self.message = message
        where = f"{kind} in {region}" + (f" ({identifier})" if identifier else "")
        super().__init__(f"{where}: {message}")

    @property
    def transient(self) -> bool:
        """Worth retrying later (throttling, a 5xx, a network failure)."""
        return self.error_kind in (FetchErrorKind.THROTTLED, FetchErrorKind.SERVICE_ERROR, FetchErrorKind.CONNECTION)


@dataclass(frozen=True)
class ResourceDocument:
    """One AWS resource as the mappings see it: a dict, or the same as JSON text."""

    identifier: str
    properties: dict[str, Any] | None = None
    properties_text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.properties is not None:
            return self.properties
        loaded: dict[str, Any] = json.loads(self.properties_text or "{}")
        return loaded


@dataclass(frozen=True)
class ListedResource:
    """A resource found by a list call; `document` is set when the list returned all of it."""

    identifier: str
    document: ResourceDocument | None = None


@dataclass(frozen=True)
class ListedPage:
    """One page of a listing, and the opaque token to resume the listing after it (None: last
    page, or the listing cannot be resumed midway and restarts from the beginning)."""

    resources: list[ListedResource]
    resume_token: str | None = None


class ResourceFetcher(Protocol):
    """Reads one kind of resource."""

    kind: str

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        """The resources of the kind in `region`, a page at a time, from the start or from a page's
        `resume_token`. Raises FetchError."""
        ...

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        """The current state of one resource, or None if it does not exist. Raises FetchError."""
        ...


def complete(fetcher: ResourceFetcher, region: str, listed: ListedResource) -> ResourceDocument | None:
    """The whole document of a listed resource: from the list itself, or by reading it."""
    if listed.document is not None:
        return listed.document
    return fetcher.read(region, listed.identifier)


FetcherFactory = Callable[[KindSpec], ResourceFetcher]


# Every document a fetcher gives carries the account and region it was read in, under the names
# Ocean's users know, so mappings can relate any entity to its account and region.
ACCOUNT_ID_FIELD = "__AccountId"
REGION_FIELD = "__Region"


def with_origin(document: ResourceDocument, account_id: str, region: str) -> ResourceDocument:
    """The document with `__AccountId` and `__Region` added (they replace any the document had).

    JSON text is extended as text (no parse), so a Cloud Control document costs nothing more.

    >>> with_origin(ResourceDocument("q", properties_text='{"QueueName": "q"}'), "111122223333", "eu-west-1").as_dict()
    {'QueueName': 'q', '__AccountId': '111122223333', '__Region': 'eu-west-1'}
    """
    if document.properties is not None:
        properties = {**document.properties, ACCOUNT_ID_FIELD: account_id, REGION_FIELD: region}
        return ResourceDocument(document.identifier, properties=properties)
    text = (document.properties_text or "{}").rstrip()
    if not text.endswith("}"):
        return document  # not an object: nothing to add to
    origin = json.dumps({ACCOUNT_ID_FIELD: account_id, REGION_FIELD: region})[1:-1]
    body = text[:-1].rstrip()
    separator = "" if body.endswith("{") else ", "
    return ResourceDocument(document.identifier, properties_text=f"{body}{separator}{origin}}}")


class OriginStampedFetcher:
    """A fetcher whose documents carry the account and region they were read in (`with_origin`)."""

    def __init__(self, fetcher: ResourceFetcher, account_id: str) -> None:
        self.kind = fetcher.kind
        self._fetcher = fetcher
        self._account_id = account_id

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        for page in self._fetcher.list_pages(region, selector, resume_token):
            resources = [
                listed
                if listed.document is None
                else ListedResource(listed.identifier, with_origin(listed.document, self._account_id, region))
                for listed in page.resources
            ]
            yield ListedPage(resources, page.resume_token)

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        document = self._fetcher.read(region, identifier)
        return None if document is None else with_origin(document, self._account_id, region)
