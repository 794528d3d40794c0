"""`fetcher_for`: the fetcher the kind registry names for a kind (Cloud Control by default, a native
fetcher for the kinds whose row names one). The interface they implement is `core.fetching`.
"""

from __future__ import annotations

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.cloudcontrol import CloudControlFetcher
from port_aws_exporter.aws.native import NATIVE_FETCHERS
from port_aws_exporter.core.fetching import OriginStampedFetcher, ResourceFetcher
from port_aws_exporter.core.kinds.registry import FetcherName, KindSpec


def fetcher_for(spec: KindSpec, clients: AwsClients, account_id: str | None = None) -> ResourceFetcher:
    """The fetcher the registry names for a kind; with `account_id`, its documents carry
    `__AccountId` and `__Region` (`core.fetching.with_origin`)."""
    if spec.fetcher is FetcherName.CLOUD_CONTROL:
        fetcher: ResourceFetcher = CloudControlFetcher(spec, clients)
    else:
        fetcher = NATIVE_FETCHERS[spec.fetcher](spec, clients)
    return fetcher if account_id is None else OriginStampedFetcher(fetcher, account_id)
