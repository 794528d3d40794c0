"""Fixtures of the deployment tests: the CloudFormation handler facts, a local DescribeType server, and
clients on an emptied local AWS for the modules that deploy the stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.deploy.local_deployment import ClientFactory, local_client_factory
from tests.deploy.type_registry_server import TypeRegistryServer

if TYPE_CHECKING:
    from port_aws_exporter.local.aws import RunningLocalAws


@pytest.fixture(scope="session")
def cfn_handlers(shared_data: Path) -> dict[str, Any]:
    """cfn-handlers.json: every public type's list/read handler permissions."""
    data: dict[str, Any] = json.loads((shared_data / "cfn-handlers.json").read_text())
    return data


@pytest.fixture(scope="session")
def type_registry_server(cfn_handlers: dict[str, Any]) -> Iterator[TypeRegistryServer]:
    """A CloudFormation DescribeType endpoint on 127.0.0.1 serving cfn-handlers.json's types."""
    server = TypeRegistryServer(cfn_handlers).start()
    yield server
    server.stop()


@pytest.fixture
def registry_requests(type_registry_server: TypeRegistryServer) -> list[dict[str, str]]:
    """The server's request log, emptied for this test."""
    type_registry_server.requests.clear()
    return type_registry_server.requests


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials that sign requests to local endpoints; never valid anywhere else."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.fixture(scope="module")
def client(local_aws: RunningLocalAws) -> Iterator[ClientFactory]:
    """boto3 clients on an emptied local endpoint, for the module's deployments; emptied again after."""
    local_aws.reset()
    yield local_client_factory(local_aws.url)
    local_aws.reset()
