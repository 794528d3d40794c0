"""What `seed_demo_world` seeded in one account and region, kept in the endpoint itself, so that
seeding again creates nothing new: a region already seeded is skipped and its record read back.

The record is an SSM parameter of the account, in the region: moto keeps it with everything else
(an endpoint reset forgets both at once), and no kind the exporter syncs lists SSM parameters, so
it never shows in the catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.local.aws.demo_world.context import RegionSeeder

_PARAMETER = "/port-aws-exporter/local-seed/{prefix}/{region}"


@dataclass
class RegionRecord:
    """The resources of one seeded region (names per kind), its SNS subscriptions, and how many
    bulk functions were added there."""

    resources: dict[str, list[str]] = field(default_factory=dict)
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    bulk_functions: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {"resources": self.resources, "subscriptions": self.subscriptions, "bulk_functions": self.bulk_functions}
        )

    @classmethod
    def from_json(cls, text: str) -> RegionRecord:
        loaded: dict[str, Any] = json.loads(text)
        return cls(loaded["resources"], loaded["subscriptions"], int(loaded.get("bulk_functions", 0)))


def read_record(seeder: RegionSeeder) -> RegionRecord | None:
    """The record of the seeder's account and region, or None when that region was never seeded."""
    ssm = seeder.client("ssm")
    try:
        answer = ssm.get_parameter(Name=_name(seeder))
    except ssm.exceptions.ParameterNotFound:
        return None
    return RegionRecord.from_json(answer["Parameter"]["Value"])


def write_record(seeder: RegionSeeder, record: RegionRecord) -> None:
    seeder.client("ssm").put_parameter(
        Name=_name(seeder),
        Value=record.to_json(),
        Type="String",
        Tier="Advanced",
        Overwrite=True,
        Description="What port-aws-exporter's local seed created here (seeding again skips this region)",
    )


def _name(seeder: RegionSeeder) -> str:
    return _PARAMETER.format(prefix=seeder.prefix, region=seeder.region)
