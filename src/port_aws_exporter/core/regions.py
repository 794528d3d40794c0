"""Which regions of an account a kind is read in: `selector.aws.regions` (names, or `["*"]` for
every enabled region), `selector.aws.regionPolicy`, global kinds, and the account's own regions.

Pure: the caller brings the account's regions (EC2 `DescribeRegions` with `AllRegions`, read per
account). A region that is named but cannot be read (not a region of the partition, not enabled in
the account) is not read and comes back with its reason: a warning that keeps stale deletion away
from the kind's blueprints in that account, since what it holds there is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.kinds.registry import KindSpec
from port_aws_exporter.core.partitions import Partition

# EC2's `OptInStatus` of the regions an account can use.
ENABLED_OPT_IN_STATUSES = frozenset({"opt-in-not-required", "opted-in"})


@dataclass(frozen=True)
class AccountRegions:
    """The regions an account's partition offers, and those enabled in the account."""

    offered: frozenset[str]
    enabled: frozenset[str]

    @classmethod
    def from_opt_in_statuses(cls, statuses: Iterable[tuple[str, str]]) -> AccountRegions:
        """From (region, EC2 `OptInStatus`) pairs."""
        pairs = list(statuses)
        return cls(
            offered=frozenset(region for region, _ in pairs),
            enabled=frozenset(region for region, status in pairs if status in ENABLED_OPT_IN_STATUSES),
        )


@dataclass(frozen=True)
class SkippedRegion:
    """A region of the config that is not read in this account, and why."""

    region: str
    reason: str


@dataclass(frozen=True)
class RegionPlan:
    """Where one kind is read in one account."""

    regions: list[str]
    skipped: list[SkippedRegion] = field(default_factory=list)


def read_once(spec: KindSpec) -> bool:
    """Kinds read once per account, not per region: global services (IAM, CloudFront, Route 53), and
    S3, whose list returns the buckets of every region."""
    return spec.global_service or spec.global_listing


def plan_regions(
    selector: AwsSelector,
    spec: KindSpec,
    *,
    partition: Partition,
    default_region: str,
    account_regions: AccountRegions | None,
    regions_unknown_reason: str | None = None,
) -> RegionPlan:
    """The regions to read a kind in, in one account of a multi-account sync.

    `account_regions` is None when they could not be read (`regions_unknown_reason` says why):
    `["*"]` then reads nothing, and named regions are read unchecked.

    >>> from port_aws_exporter.core.kinds.registry import spec_for
    >>> from port_aws_exporter.core.partitions import PARTITIONS
    >>> offered = frozenset({"us-east-1", "eu-west-1", "ap-east-1"})
    >>> regions = AccountRegions(offered, enabled=frozenset({"us-east-1", "eu-west-1"}))
    >>> selector = AwsSelector.model_validate({"regions": ["*"], "regionPolicy": {"deny": ["eu-west-1"]}})
    >>> plan_regions(selector, spec_for("AWS::SQS::Queue"), partition=PARTITIONS["aws"], default_region="us-east-1",
    ...              account_regions=regions).regions
    ['us-east-1']
    """
    if read_once(spec):
        return RegionPlan([partition.global_region])
    if selector.all_enabled_regions:
        if account_regions is None:
            unknown = f"the regions enabled in the account are unknown ({regions_unknown_reason or 'not read'})"
            return RegionPlan([], [SkippedRegion("*", unknown)])
        return RegionPlan([region for region in sorted(account_regions.enabled) if _allowed(selector, region)])
    wanted = selector.regions or [default_region]
    regions: list[str] = []
    skipped: list[SkippedRegion] = []
    for region in dict.fromkeys(wanted):
        if not _allowed(selector, region):
            continue
        reason = _unreadable(region, partition, account_regions)
        if reason is None:
            regions.append(region)
        else:
            skipped.append(SkippedRegion(region, reason))
    return RegionPlan(regions, skipped)


def _allowed(selector: AwsSelector, region: str) -> bool:
    return selector.region_policy is None or selector.region_policy.allows(region)


def _unreadable(region: str, partition: Partition, account_regions: AccountRegions | None) -> str | None:
    if not partition.owns_region(region):
        return f"not offered: {region} is not a region of the {partition.name} partition"
    if account_regions is None:
        return None
    if region not in account_regions.offered:
        return f"not offered: {region} is not a region this account's partition ({partition.name}) has"
    if region not in account_regions.enabled:
        return f"not enabled: {region} is an opt-in region this account has not enabled"
    return None


def single_account_regions(
    selector: AwsSelector, account_regions: AccountRegions | None, default_region: str
) -> list[str]:
    """The regions of a kind in a single-account sync: as the original reads them (the named
    regions, else the default one), and with `["*"]` the regions enabled in the account; the
    `regionPolicy` applies to both.

    >>> regions = AccountRegions(frozenset({"us-east-1", "eu-west-1"}), frozenset({"us-east-1", "eu-west-1"}))
    >>> single_account_regions(AwsSelector.model_validate({"regions": ["*"]}), regions, "us-east-1")
    ['eu-west-1', 'us-east-1']
    >>> single_account_regions(AwsSelector(), None, "us-east-1")
    ['us-east-1']
    """
    if selector.all_enabled_regions:
        enabled = sorted(account_regions.enabled) if account_regions is not None else []
        return [region for region in enabled if _allowed(selector, region)]
    return [region for region in (selector.regions or [default_region]) if _allowed(selector, region)]
