"""ELBv2 load balancers in `describe_load_balancers` shape, with `Attributes`, `Listeners`, `Tags`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from port_aws_exporter.aws.native.base import NativeFetcher, json_safe
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ListedPage, ListedResource, ResourceDocument

NOT_FOUND_CODES = frozenset({"LoadBalancerNotFound", "LoadBalancerNotFoundException", "ValidationError"})


class LoadBalancerFetcher(NativeFetcher):
    """Load balancers, each enriched with its attributes, listeners and tags.

    Read by ARN or by name: Cloud Control identifies a load balancer by ARN, while Port's example
    rules send its name.
    """

    service = "elbv2"

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        pages = self.paginate(region, "describe_load_balancers", "LoadBalancers", selector.list_parameters)
        for balancers in pages:
            listed = []
            for balancer in balancers:
                document = self._enriched(region, balancer)
                listed.append(ListedResource(balancer["LoadBalancerArn"], document))
            yield ListedPage(listed)

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        key = {"LoadBalancerArns": [identifier]} if identifier.startswith("arn:") else {"Names": [identifier]}
        response = self.call_or_none(
            region, identifier, NOT_FOUND_CODES, lambda: self.client(region).describe_load_balancers(**key)
        )
        balancers = response.get("LoadBalancers", []) if response else []
        return self._enriched(region, balancers[0]) if balancers else None

    def _enriched(self, region: str, balancer: dict[str, Any]) -> ResourceDocument:
        arn = balancer["LoadBalancerArn"]
        client = self.client(region)
        with self.translated_errors(region, arn):
            attributes = client.describe_load_balancer_attributes(LoadBalancerArn=arn).get("Attributes", [])
            listeners = [
                listener
                for page in client.get_paginator("describe_listeners").paginate(LoadBalancerArn=arn)
                for listener in page.get("Listeners", [])
            ]
            descriptions = client.describe_tags(ResourceArns=[arn]).get("TagDescriptions", [])
        tags = descriptions[0].get("Tags", []) if descriptions else []
        document = {**balancer, "Attributes": attributes, "Listeners": listeners, "Tags": tags}
        return ResourceDocument(arn, properties=json_safe(document))
