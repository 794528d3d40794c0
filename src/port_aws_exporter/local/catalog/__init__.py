"""A local catalog that speaks Port's REST API, backed by SQLite.

`start_catalog()` serves it in-process (tests, demos, benchmarks); `port-aws-exporter catalog
serve` serves it from the command line. The exporter reaches it through the same `PortClient`
that talks to Port.
"""

from port_aws_exporter.local.catalog.entity_writes import WriteMode, WriteOptions, Writer
from port_aws_exporter.local.catalog.errors import CatalogError
from port_aws_exporter.local.catalog.faults import FaultInjector, FaultSettings
from port_aws_exporter.local.catalog.server import RunningCatalog, start_catalog
from port_aws_exporter.local.catalog.service import CatalogService
from port_aws_exporter.local.catalog.store import CatalogDatabase, NotACatalogDatabase

__all__ = [
    "CatalogDatabase",
    "CatalogError",
    "CatalogService",
    "FaultInjector",
    "FaultSettings",
    "NotACatalogDatabase",
    "RunningCatalog",
    "WriteMode",
    "WriteOptions",
    "Writer",
    "start_catalog",
]
