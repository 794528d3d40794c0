"""What a seeded demo world contains: deterministic names per kind and region."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GLOBAL = "global"


@dataclass
class SeedSummary:
    """The resources `seed_demo_world` created, for tests to assert catalog contents exactly.

    `resources[kind][region]` lists, in creation order, the value each kind's Port mapping uses as
    entity identifier: names for most kinds, `InstanceId` for EC2 instances, the certificate ARN for
    ACM. IAM is global: its roles are under the region `"global"`. `subscriptions` maps each SNS topic
    name to the queue names subscribed to it.
    """

    endpoint_url: str
    regions: list[str]
    resources: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    # Regions found seeded by an earlier run: nothing was created there this time.
    already_seeded: list[str] = field(default_factory=list)

    def add(self, kind: str, region: str, name: str) -> str:
        """Record one created resource; returns `name`."""
        self.resources.setdefault(kind, {}).setdefault(region, []).append(name)
        return name

    def extend(self, kind: str, region: str, names: list[str]) -> None:
        """Record many created resources of one kind and region."""
        self.resources.setdefault(kind, {}).setdefault(region, []).extend(names)

    def names(self, kind: str, region: str | None = None) -> list[str]:
        """The names of one kind, in one region or all (regions in seeding order)."""
        by_region = self.resources.get(kind, {})
        if region is not None:
            return list(by_region.get(region, []))
        return [name for names in by_region.values() for name in names]

    def count(self, kind: str | None = None) -> int:
        """How many resources (of one kind, or in total)."""
        kinds = [kind] if kind is not None else list(self.resources)
        return sum(len(self.names(k)) for k in kinds)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what `local seed --json` prints)."""
        return {
            "endpoint_url": self.endpoint_url,
            "regions": self.regions,
            "total": self.count(),
            "counts": {kind: self.count(kind) for kind in sorted(self.resources)},
            "resources": self.resources,
            "subscriptions": self.subscriptions,
            "already_seeded": self.already_seeded,
        }
