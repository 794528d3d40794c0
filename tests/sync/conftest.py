"""Full-sync fixtures: the demo world, the example blueprints in the local catalog, a sync runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.cli.demo import DEMO_REGIONS, apply_example_blueprints
from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.port import PortClient
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions, SyncOutcome

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SyncRunner = Callable[..., SyncOutcome]


@pytest.fixture
def example_config() -> ExporterConfig:
    return load_config(EXAMPLES / "config.json")


@pytest.fixture
def example_catalog(port_client: PortClient) -> PortClient:
    """The local catalog with the example blueprints and the demo regions' entities."""
    apply_example_blueprints(port_client, EXAMPLES, DEMO_REGIONS)
    return port_client


@pytest.fixture
def run_sync(aws_env: dict[str, str], example_catalog: PortClient, catalog_installation: Installation) -> SyncRunner:
    """Run a full sync of a config (the examples' by default) against the local stack."""

    def run(
        config: ExporterConfig | None = None,
        *,
        catalog: Any = None,
        installation: Installation | None = None,
        **options: Any,
    ) -> SyncOutcome:
        clients = AwsClients(max_attempts=2)
        owner = installation or catalog_installation
        resume_from = options.pop("resume_from", None)
        return FullSync(
            config or load_config(EXAMPLES / "config.json"),
            lambda spec: fetcher_for(spec, clients),
            catalog or example_catalog,
            owner.owned_entities_query,
            SyncOptions(default_region="us-east-1", **options),
        ).run(resume_from)

    return run


def identifiers(port: PortClient, blueprint: str) -> list[str]:
    return sorted(entity["identifier"] for entity in port.iter_blueprint_entities(blueprint))


def entities_by_id(port: PortClient, blueprint: str) -> dict[str, dict[str, Any]]:
    return {entity["identifier"]: entity for entity in port.iter_blueprint_entities(blueprint)}
