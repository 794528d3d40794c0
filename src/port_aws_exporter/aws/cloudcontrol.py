"""Cloud Control API: any CloudFormation type, listed and read by its primary identifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetch_errors import error_code, none_if_not_found, translated_errors
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import FetchError, FetchErrorKind, ListedPage, ListedResource, ResourceDocument
from port_aws_exporter.core.kinds.cloudcontrol import is_listable, list_requirement
from port_aws_exporter.core.kinds.registry import KindSpec

NOT_FOUND_CODE = "ResourceNotFoundException"


class CloudControlFetcher:
    """Lists with `ListResources` (per parent model when the kind needs one) and reads with
    `GetResource`, as the original exporter does; with `selector.aws.useListProperties` the list's
    own properties are the documents and no read is made. Kinds Cloud Control cannot list use the
    registry's native listing, then Cloud Control reads.
    """

    def __init__(self, spec: KindSpec, clients: AwsClients) -> None:
        self.kind = spec.kind
        self._spec = spec
        self._clients = clients

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        if self._spec.native_listing is not None:
            yield from self._list_natively(region)
            return
        region_config = selector.regions_config.get(region)
        models = region_config.resources_models if region_config is not None else ["{}"]
        self._check_listable(region, models)
        # The resume token says which parent model and which NextToken of its listing come next.
        start: dict[str, Any] = json.loads(resume_token) if resume_token else {"model": 0, "token": None}
        first_model: int = start["model"]
        for position in range(first_model, len(models)):
            token: str | None = start["token"] if position == first_model else None
            pages = self._list_resources(region, models[position], selector.use_list_properties, token)
            for page, next_token in pages:
                resume: dict[str, Any] | None = None
                if next_token is not None:
                    resume = {"model": position, "token": next_token}
                elif position + 1 < len(models):
                    resume = {"model": position + 1, "token": None}
                yield ListedPage(page, json.dumps(resume) if resume else None)

    def _check_listable(self, region: str, models: list[str]) -> None:
        """Fail early, with what to do, where Cloud Control is known to refuse the list."""
        if not is_listable(self.kind):
            raise FetchError(
                self.kind,
                region,
                "Cloud Control cannot list this type (it has no list handler); "
                "sync it through a kind with a native fetcher, or by events only",
                error_kind=FetchErrorKind.UNSUPPORTED,
            )
        requirement = list_requirement(self.kind)
        for model in models:
            missing = requirement.missing(json.loads(model))
            if missing:
                raise FetchError(
                    self.kind,
                    region,
                    f"listing this type needs its parent in a resource model ({requirement.describe()}); "
                    f"set selector.aws.regions_config.{region}.resources_models, e.g. "
                    f'["{{"{missing[0]}": "..."}}"] (missing: {", ".join(missing)})',
                    error_kind=FetchErrorKind.INVALID_REQUEST,
                )

    def _list_resources(
        self, region: str, model: str, with_properties: bool, token: str | None
    ) -> Iterator[tuple[list[ListedResource], str | None]]:
        client = self._clients.client("cloudcontrol", region)
        request: dict[str, Any] = {"TypeName": self.kind}
        if json.loads(model):
            request["ResourceModel"] = model
        while True:
            if token:
                request["NextToken"] = token
            with translated_errors(self.kind, region):
                response = client.list_resources(**request)
            token = response.get("NextToken") or None
            descriptions = response.get("ResourceDescriptions", [])
            yield [self._listed(description, with_properties) for description in descriptions], token
            if not token:
                return

    @staticmethod
    def _listed(description: dict[str, Any], with_properties: bool) -> ListedResource:
        identifier = description["Identifier"]
        if with_properties and description.get("Properties"):
            return ListedResource(identifier, ResourceDocument(identifier, properties_text=description["Properties"]))
        return ListedResource(identifier)

    def _list_natively(self, region: str) -> Iterator[ListedPage]:
        listing = self._spec.native_listing
        assert listing is not None
        client = self._clients.client(listing.service, region)
        with translated_errors(self.kind, region):
            if client.can_paginate(listing.operation):
                pages = client.get_paginator(listing.operation).paginate()
            else:  # e.g. OpenSearch's ListDomainNames answers in one response
                pages = [getattr(client, listing.operation)()]
            for page in pages:
                yield ListedPage(
                    [ListedResource(item[listing.identifier_key]) for item in page.get(listing.result_key, [])]
                )

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        client = self._clients.client("cloudcontrol", region)
        response = none_if_not_found(
            self.kind,
            region,
            identifier,
            lambda error: error_code(error) == NOT_FOUND_CODE,
            lambda: client.get_resource(TypeName=self.kind, Identifier=identifier),
        )
        if response is None:
            return None
        description = response["ResourceDescription"]
        return ResourceDocument(description.get("Identifier", identifier), properties_text=description["Properties"])
