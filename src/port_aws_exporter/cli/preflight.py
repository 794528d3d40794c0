"""Before a command reads AWS: can the catalog be reached, and does it take the credentials?

One token request and one read of the blueprints, with a short timeout and few retries: an
unreachable Port or refused credentials stop `sync`, `event` and `worker` at once with one line
saying what and where, instead of every write failing the same way minutes later.
"""

from __future__ import annotations

from port_aws_exporter.cli.output import fail
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.port.errors import PortApiError, PortAuthError

# Enough for a slow first connection; a catalog that is down fails within about 15 seconds.
PREFLIGHT_TIMEOUT_SECONDS = 10.0
PREFLIGHT_ATTEMPTS = 3


def check_catalog(credentials: PortCredentials) -> None:
    """Get a token and list the blueprints; `error:` and exit 1 when Port cannot be reached, refuses
    the credentials or answers a permanent error. A busy Port (429, 5xx) is left to the run's client."""
    url = credentials.api_url
    with PortClient(
        credentials,
        timeout=PREFLIGHT_TIMEOUT_SECONDS,
        max_attempts=PREFLIGHT_ATTEMPTS,
        retry_budget_seconds=PREFLIGHT_TIMEOUT_SECONDS + 5,
        backoff_max_seconds=2.0,
    ) as port:
        try:
            port.list_blueprints()
        except PortAuthError as error:
            detail = ": ".join(part for part in (f"HTTP {error.status}", error.error, error.message) if part)
            fail(
                f"Port at {url} refused the credentials ({detail}).\n"
                "Check PORT_CLIENT_ID and PORT_CLIENT_SECRET (Port: Settings → Credentials) and PORT_API_URL "
                "(https://api.port.io for Port's EU region, https://api.us.port.io for its US region)."
            )
        except PortApiError as error:
            if error.status is None:
                fail(
                    f"cannot reach Port at {url}: {error.message}\n"
                    "Check PORT_API_URL and the network (for a local catalog, that it is running)."
                )
            if error.transient:
                return  # Port answered, busy (429, 5xx): the run's own client rides that out with its retries
            fail(f"Port at {url} cannot be used: {error}")
