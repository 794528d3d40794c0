"""An `EventBatch` wired to AWS and Port, for processes outside Lambda (the worker, `event`).

AWS is reached with boto3's default credentials (and `AWS_ENDPOINT_URL` for a local endpoint); the
installation (account and region, hence the User-Agent that marks owned entities) is resolved as
the CLI's full sync does, so the worker, the CLI and the Lambda of one deployment write alike. With
`accounts` in the config, an event of a member account is read through that account's assumed
role and written as that account's installation (`events.accounts.OrganizationRoutes`).

    with open_event_batch("config.json", PortCredentials.from_env()) as session:
        result = session.batch.process_message(text)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from port_aws_exporter.aws.account_sessions import AccountSessions, OrganizationDirectory, RoleSettings
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import resolve_identity
from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.events.accounts import OrganizationRoutes
from port_aws_exporter.events.batch import EventBatch, EventOptions
from port_aws_exporter.port import PortClient, PortCredentials


@dataclass
class EventSession:
    """The batch and what it runs on (closed with the session)."""

    batch: EventBatch
    clients: AwsClients
    port: PortClient
    installation: Installation


@contextlib.contextmanager
def open_event_batch(
    config_source: str | Path | ExporterConfig,
    credentials: PortCredentials,
    *,
    options: EventOptions | None = None,
    clients: AwsClients | None = None,
    jq_workers: int = 1,
    max_requests_per_minute: int | None = None,
) -> Iterator[EventSession]:
    """Load the config (raises ConfigError; or take one already loaded), resolve the installation
    and open the Port client and the jq workers; everything is closed on exit."""
    clients = clients or AwsClients()
    config = (
        config_source
        if isinstance(config_source, ExporterConfig)
        else load_config(config_source, s3_client=clients.client("s3", clients.default_region))
    )
    caller = resolve_identity(clients.session)
    installation = caller.installation
    port_client = PortClient(credentials, installation, max_requests_per_minute=max_requests_per_minute)
    with port_client as port, TimeLimitedJq(workers=jq_workers) as evaluator:
        fetchers = lambda spec: fetcher_for(spec, clients, installation.account_id)  # noqa: E731
        routes = None
        if config.accounts is not None:
            sessions = AccountSessions(clients, caller, RoleSettings.of(config.accounts))
            routes = OrganizationRoutes(config.accounts, OrganizationDirectory(sessions), port.for_installation)
        batch = EventBatch(
            config,
            fetchers,
            port,
            evaluator,
            options,
            owned_entities_query=installation.owned_entities_query,
            home_account=installation.account_id,
            routes=routes,
        )
        yield EventSession(batch, clients, port, installation)
