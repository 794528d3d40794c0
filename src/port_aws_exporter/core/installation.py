"""Who this exporter is to Port: one installation per (AWS account, region).

Port records the User-Agent of the request that wrote an entity in the entity's `$datasource`
meta-property. Every write of an installation carries the same User-Agent, so the installation can
later find the entities it owns (and only those) with two `$datasource contains` rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from port_aws_exporter import __version__

PRODUCT_NAME = "port-aws-exporter"

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_OWNER_TAG = re.compile(r"accountid/(\d{12}) region/([a-z0-9-]+)\)")


@dataclass(frozen=True)
class Installation:
    """One exporter installation: the AWS account and region it runs for.

    >>> Installation("123456789012", "eu-west-1").user_agent
    'port-aws-exporter/0.1.0 (accountid/123456789012 region/eu-west-1)'
    """

    account_id: str
    region: str

    def __post_init__(self) -> None:
        if not _ACCOUNT_ID.match(self.account_id):
            raise ValueError(f"AWS account id must be 12 digits, got {self.account_id!r}")
        if not is_region_name(self.region):
            raise ValueError(f"not an AWS region name: {self.region!r}")

    @property
    def owner_tag(self) -> str:
        """The part of the User-Agent that tells installations apart.

        The closing parenthesis is part of it so that `region/us-east-1` cannot match a longer
        region name; entities written by the original exporter carry the same tag.
        """
        return f"accountid/{self.account_id} region/{self.region})"

    @property
    def user_agent(self) -> str:
        """The User-Agent sent with every Port request; Port stores it as `$datasource`."""
        return f"{PRODUCT_NAME}/{__version__} (accountid/{self.account_id} region/{self.region})"

    @property
    def datasource_rules(self) -> list[dict[str, Any]]:
        """Search rules selecting the entities this installation wrote (spec §6.9)."""
        return [
            {"property": "$datasource", "operator": "contains", "value": PRODUCT_NAME},
            {"property": "$datasource", "operator": "contains", "value": self.owner_tag},
        ]

    @property
    def owned_entities_query(self) -> dict[str, Any]:
        """A complete search query (`combinator` + `rules`) for this installation's entities."""
        return {"combinator": "and", "rules": self.datasource_rules}


def is_region_name(text: str) -> bool:
    """Whether `text` has the shape of an AWS region name (`eu-west-1`, `us-gov-east-1`)."""
    return _REGION.match(text) is not None


def anonymous_user_agent() -> str:
    """The User-Agent of tooling that writes no entities (blueprint apply, listings)."""
    return f"{PRODUCT_NAME}/{__version__}"


def installation_of(datasource: str) -> Installation | None:
    """The installation whose User-Agent wrote a `$datasource`, or None for any other writer.

    >>> installation_of("port-aws-exporter/0.1.0 (accountid/123456789012 region/eu-west-1)")
    Installation(account_id='123456789012', region='eu-west-1')
    >>> installation_of("curl/8.5.0") is None
    True
    """
    match = _OWNER_TAG.search(datasource) if PRODUCT_NAME in datasource else None
    if match is None or not is_region_name(match.group(2)):
        return None
    return Installation(match.group(1), match.group(2))


def installations_rules(account_id: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
    """Search rules selecting what exporter installations wrote, narrowed to an account, a region, or both.

    With both, the entities of that one installation (as `Installation.datasource_rules`); with
    neither, every exporter installation's.
    """
    rules = [{"property": "$datasource", "operator": "contains", "value": PRODUCT_NAME}]
    if account_id:
        rules.append({"property": "$datasource", "operator": "contains", "value": f"accountid/{account_id} "})
    if region:
        rules.append({"property": "$datasource", "operator": "contains", "value": f"region/{region})"})
    return rules
