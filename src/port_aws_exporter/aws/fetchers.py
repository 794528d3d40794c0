"""`fetcher_for`: the fetcher the kind registry names for a kind (Cloud Control by default, a native
fetcher for the kinds whose row names one). The interface they implement is `core.fetching`.
"""

from __future__ import annotations

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.cloudcontrol import CloudControlFetcher
from port_aws_exporter.aws.native import NATIVE_FETCHERS
from port_aws_exporter.core.fetching import ResourceFetcher
from port_aws_exporter.core.kinds.registry import FetcherName, KindSpec


def fetcher_for(spec: KindSpec, clients: AwsClients) -> ResourceFetcher:
    """The fetcher the registry names for a kind."""
    if spec.fetcher is FetcherName.CLOUD_CONTROL:
        return CloudControlFetcher(spec, clients)
    return NATIVE_FETCHERS[spec.fetcher](spec, clients)
