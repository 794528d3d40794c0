"""Port's REST API: credentials, the client, its errors and its bulk results."""

from port_aws_exporter.port.bulk import EntityWriteResult
from port_aws_exporter.port.client import BlueprintApplied, PortClient
from port_aws_exporter.port.counters import ClientCounters
from port_aws_exporter.port.credentials import DEFAULT_API_URL, PortConfigurationError, PortCredentials
from port_aws_exporter.port.errors import PortApiError, PortAuthError
from port_aws_exporter.port.retry import RetryPolicy

__all__ = [
    "DEFAULT_API_URL",
    "BlueprintApplied",
    "ClientCounters",
    "EntityWriteResult",
    "PortApiError",
    "PortAuthError",
    "PortClient",
    "PortConfigurationError",
    "PortCredentials",
    "RetryPolicy",
]
