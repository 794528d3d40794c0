"""The fault suite's setup: the local stack, the soak pieces (`port_aws_exporter.local.soak`), a queue.

The suite drives the exporter as a user runs it (the `worker` and `sync` commands in child
processes, or the Python API where a child process adds nothing) against the local AWS endpoint
and the local catalog with faults on. Its long tests are marked `slow`: `pytest -m "not slow"`
skips them for a quick run; the README's test command runs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.local.soak import SOAK_BLUEPRINT, SOAK_CONFIG, worker_environment
from port_aws_exporter.port import PortClient
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions, SyncOutcome
from tests.fixtures.event_queues import EventQueues
from tests.fixtures.local_catalog import CATALOG_INSTALLATION, make_port_client


@dataclass
class FaultStack:
    """The local AWS endpoint and catalog of one fault test, and how to reach them."""

    aws: RunningLocalAws
    catalog: RunningCatalog
    port: PortClient
    directory: Path

    @property
    def environment(self) -> dict[str, str]:
        """The environment of an exporter process on this stack."""
        return worker_environment(self.aws.url, self.catalog.url, self.catalog.client_id, self.catalog.client_secret)

    def write_config(self, config: dict[str, Any], name: str = "config.json") -> Path:
        path = self.directory / name
        path.write_text(json.dumps(config))
        return path

    def sync(self, config: ExporterConfig, **options: Any) -> SyncOutcome:
        """One full sync in this process, as the installation the worker and the CLI resolve to."""
        clients = AwsClients()
        with PortClient(self.catalog.credentials(), CATALOG_INSTALLATION) as port:
            return FullSync(
                config,
                lambda spec: fetcher_for(spec, clients),
                port,
                CATALOG_INSTALLATION.owned_entities_query,
                SyncOptions(default_region="us-east-1", **options),
            ).run()


@pytest.fixture
def fault_stack(
    fresh_local_aws: RunningLocalAws, local_catalog: RunningCatalog, aws_env: dict[str, str], tmp_path: Path
) -> Iterator[FaultStack]:
    """A fresh local AWS and an empty catalog with the soak blueprint; every fault cleared after."""
    with make_port_client(local_catalog) as port:
        port.apply_blueprint(SOAK_BLUEPRINT)
        yield FaultStack(fresh_local_aws, local_catalog, port, tmp_path)
    fresh_local_aws.faults.clear()
    local_catalog.faults.clear()


@pytest.fixture
def soak_config() -> ExporterConfig:
    return load_config(SOAK_CONFIG)


QueueFactory = Callable[..., EventQueues]
