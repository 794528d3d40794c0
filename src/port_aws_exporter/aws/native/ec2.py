"""EC2 instances, in `describe_instances` shape (`.State.Name`, `.Placement.AvailabilityZone`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from port_aws_exporter.aws.native.base import NativeFetcher, json_safe
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ListedPage, ListedResource, ResourceDocument

NOT_FOUND_CODES = frozenset({"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"})


def _instances(reservations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [instance for reservation in reservations for instance in reservation.get("Instances", [])]


class Ec2InstanceFetcher(NativeFetcher):
    """Instances from `describe_instances` (with `list_parameters`, e.g. `Filters`)."""

    service = "ec2"

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        for reservations in self.paginate(region, "describe_instances", "Reservations", selector.list_parameters):
            yield ListedPage(
                [
                    ListedResource(i["InstanceId"], ResourceDocument(i["InstanceId"], properties=json_safe(i)))
                    for i in _instances(reservations)
                ]
            )

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        response = self.call_or_none(
            region,
            identifier,
            NOT_FOUND_CODES,
            lambda: self.client(region).describe_instances(InstanceIds=[identifier]),
        )
        instances = _instances(response.get("Reservations", [])) if response else []
        return ResourceDocument(identifier, properties=json_safe(instances[0])) if instances else None
