"""ElastiCache clusters in `describe_cache_clusters` shape, with `Tags`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from port_aws_exporter.aws.native.base import NativeFetcher, json_safe
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ListedPage, ListedResource, ResourceDocument

NOT_FOUND_CODES = frozenset({"CacheClusterNotFound", "CacheClusterNotFoundFault"})


class CacheClusterFetcher(NativeFetcher):
    """Cache clusters from `describe_cache_clusters` (with `list_parameters`), with their tags."""

    service = "elasticache"

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        for clusters in self.paginate(region, "describe_cache_clusters", "CacheClusters", selector.list_parameters):
            yield ListedPage([self._listed(region, cluster) for cluster in clusters])

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        response = self.call_or_none(
            region,
            identifier,
            NOT_FOUND_CODES,
            lambda: self.client(region).describe_cache_clusters(CacheClusterId=identifier),
        )
        clusters = response.get("CacheClusters", []) if response else []
        return self._listed(region, clusters[0]).document if clusters else None

    def _listed(self, region: str, cluster: dict[str, Any]) -> ListedResource:
        identifier = cluster["CacheClusterId"]
        tags: list[dict[str, Any]] = []
        if cluster.get("ARN"):
            with self.translated_errors(region, identifier):
                tags = self.client(region).list_tags_for_resource(ResourceName=cluster["ARN"]).get("TagList", [])
        document = {**cluster, "Tags": tags}
        return ListedResource(identifier, ResourceDocument(identifier, properties=json_safe(document)))
