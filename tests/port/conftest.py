"""Helpers shared by the client tests."""

from __future__ import annotations

from typing import Any

import pytest

from port_aws_exporter.port import PortClient

SERVICE_BLUEPRINT: dict[str, Any] = {
    "identifier": "service",
    "title": "Service",
    "schema": {
        "properties": {
            "arn": {"type": "string", "title": "ARN"},
            "memory": {"type": "number"},
            "runtime": {"type": "string", "enum": ["python3.11", "nodejs20.x"]},
            "link": {"type": "string", "format": "url"},
            "tags": {"type": "array"},
        },
        "required": [],
    },
    "relations": {},
}


def service(index: int, **properties: Any) -> dict[str, Any]:
    """A valid `service` entity."""
    return {
        "identifier": f"svc-{index:05d}",
        "title": f"Service {index}",
        "properties": {"arn": f"arn:aws:lambda:us-east-1:123456789012:function:svc-{index}", **properties},
    }


@pytest.fixture
def service_blueprint(port_client: PortClient) -> str:
    """The `service` blueprint, created in the test's catalog."""
    port_client.create_blueprint(SERVICE_BLUEPRINT)
    return "service"
