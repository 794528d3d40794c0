"""Cloud Control API: any CloudFormation type, listed and read by its primary identifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetch_errors import fetch_error
from port_aws_exporter.aws.fetchers import ListedResource, ResourceDocument
from port_aws_exporter.config import AwsSelector
from port_aws_exporter.kinds import KindSpec

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

    def list_pages(self, region: str, selector: AwsSelector) -> Iterator[list[ListedResource]]:
        if self._spec.native_listing is not None:
            yield from self._list_natively(region)
            return
        region_config = selector.regions_config.get(region)
        models = region_config.resources_models if region_config is not None else ["{}"]
        for model in models:
            yield from self._list_resources(region, model, selector.use_list_properties)

    def _list_resources(self, region: str, model: str, with_properties: bool) -> Iterator[list[ListedResource]]:
        client = self._clients.client("cloudcontrol", region)
        request: dict[str, Any] = {"TypeName": self.kind}
        if json.loads(model):
            request["ResourceModel"] = model
        while True:
            try:
                response = client.list_resources(**request)
            except (ClientError, BotoCoreError) as error:
                raise fetch_error(self.kind, region, error) from error
            yield [
                self._listed(description, with_properties) for description in response.get("ResourceDescriptions", [])
            ]
            token = response.get("NextToken")
            if not token:
                return
            request["NextToken"] = token

    @staticmethod
    def _listed(description: dict[str, Any], with_properties: bool) -> ListedResource:
        identifier = description["Identifier"]
        if with_properties and description.get("Properties"):
            return ListedResource(identifier, ResourceDocument(identifier, properties_text=description["Properties"]))
        return ListedResource(identifier)

    def _list_natively(self, region: str) -> Iterator[list[ListedResource]]:
        listing = self._spec.native_listing
        assert listing is not None
        client = self._clients.client(listing.service, region)
        try:
            if client.can_paginate(listing.operation):
                pages = client.get_paginator(listing.operation).paginate()
            else:  # e.g. OpenSearch's ListDomainNames answers in one response
                pages = [getattr(client, listing.operation)()]
            for page in pages:
                yield [ListedResource(item[listing.identifier_key]) for item in page.get(listing.result_key, [])]
        except (ClientError, BotoCoreError) as error:
            raise fetch_error(self.kind, region, error) from error

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        client = self._clients.client("cloudcontrol", region)
        try:
            response = client.get_resource(TypeName=self.kind, Identifier=identifier)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == NOT_FOUND_CODE:
                return None
            raise fetch_error(self.kind, region, error, identifier) from error
        except BotoCoreError as error:
            raise fetch_error(self.kind, region, error, identifier) from error
        description = response["ResourceDescription"]
        return ResourceDocument(description.get("Identifier", identifier), properties_text=description["Properties"])
