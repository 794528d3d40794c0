"""Raw HTTP access to the local catalog, to check status codes and bodies exactly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from port_aws_exporter.local.catalog import RunningCatalog

USER_AGENT = "port-aws-exporter/0.1.0 (accountid/123456789012 region/us-east-1)"

CLUSTER: dict[str, Any] = {
    "identifier": "cluster",
    "title": "Cluster",
    "schema": {
        "properties": {
            "size": {"type": "number"},
            "name": {"type": "string"},
            "state": {"type": "string", "enum": ["ACTIVE", "INACTIVE"]},
            "console": {"type": "string", "format": "url"},
            "launched": {"type": "string", "format": "date-time"},
            "zones": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}},
            "tags": {"type": "object"},
            "public": {"type": "boolean"},
        },
        "required": ["name"],
    },
    "relations": {},
}
SERVICE: dict[str, Any] = {
    "identifier": "service",
    "title": "Service",
    "schema": {"properties": {"port": {"type": "number"}}, "required": []},
    "relations": {
        "cluster": {"target": "cluster", "required": True, "many": False},
        "peers": {"target": "service", "required": False, "many": True},
    },
}
ALARM: dict[str, Any] = {
    "identifier": "alarm",
    "title": "Alarm",
    "schema": {"properties": {}, "required": []},
    "relations": {"service": {"target": "service", "required": False, "many": False}},
}


def token_for(catalog: RunningCatalog) -> str:
    response = httpx.post(
        f"{catalog.url}/v1/auth/access_token",
        json={"clientId": catalog.client_id, "clientSecret": catalog.client_secret},
    )
    response.raise_for_status()
    return str(response.json()["accessToken"])


@pytest.fixture
def api(local_catalog: RunningCatalog) -> Iterator[httpx.Client]:
    """An httpx client with a valid token and the exporter's User-Agent."""
    headers = {"Authorization": f"Bearer {token_for(local_catalog)}", "User-Agent": USER_AGENT}
    with httpx.Client(base_url=local_catalog.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def blueprints(api: httpx.Client) -> None:
    """`cluster`, `service` (requires a cluster; many peers) and `alarm` (optional service)."""
    for blueprint in (CLUSTER, SERVICE, ALARM):
        assert api.post("/v1/blueprints", json=blueprint).status_code == 201


def cluster(identifier: str, **properties: Any) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "title": identifier.upper(),
        "properties": {"name": identifier, **properties},
    }
