"""The fetcher interface the full sync and the event path read AWS through.

A fetcher lists the resources of one kind in a region, page by page, and reads one resource by
identifier (None when it does not exist). Where the list call already returns whole documents
(native describe calls, or Cloud Control's list properties when a config opts in), the listed
resource carries its document and needs no read.

`fetcher_for` picks the fetcher from the kind registry: Cloud Control by default, a native fetcher
for the kinds whose row names one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.config import AwsSelector
from port_aws_exporter.kinds import FetcherName, KindSpec


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


def fetcher_for(spec: KindSpec, clients: AwsClients) -> ResourceFetcher:
    """The fetcher the registry names for a kind."""
    if spec.fetcher is FetcherName.CLOUD_CONTROL:
        from port_aws_exporter.aws.cloudcontrol import CloudControlFetcher

        return CloudControlFetcher(spec, clients)
    from port_aws_exporter.aws.native import NATIVE_FETCHERS

    return NATIVE_FETCHERS[spec.fetcher](spec, clients)
