"""Port API credentials and base URL."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

# Port's API base URLs by region, as its OpenAPI document lists its servers: EU (the default) and
# US. The legacy EU host api.getport.io still answers and is accepted like any other URL.
PORT_API_URLS = {"eu": "https://api.port.io", "us": "https://api.us.port.io"}
LEGACY_API_URL = "https://api.getport.io"
DEFAULT_API_URL = PORT_API_URLS["eu"]


class PortConfigurationError(ValueError):
    """The Port connection settings are missing or malformed."""


class PortCredentials(BaseModel):
    """A Port client id and secret and the API base URL.

    `api_url` is kept without the `/v1` suffix and without a trailing slash, whichever form was
    given, so `https://api.port.io/v1/` and `https://api.port.io` are the same setting.
    The secret is a `SecretStr`: it prints as `**********` in reprs, logs and tracebacks.
    """

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: SecretStr
    api_url: str = DEFAULT_API_URL

    @field_validator("client_id")
    @classmethod
    def _client_id_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("client_id is empty")
        return value.strip()

    @field_validator("client_secret")
    @classmethod
    def _client_secret_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("client_secret is empty")
        return value

    @field_validator("api_url")
    @classmethod
    def _normalise_api_url(cls, value: str) -> str:
        return normalise_api_url(value)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, api_url: str | None = None) -> PortCredentials:
        """Read `PORT_CLIENT_ID`, `PORT_CLIENT_SECRET` and `PORT_API_URL` (optional).

        `api_url`, when given, wins over `PORT_API_URL`. Raises `PortConfigurationError` naming
        every missing variable.
        """
        env = os.environ if environ is None else environ
        client_id = env.get("PORT_CLIENT_ID", "").strip()
        client_secret = env.get("PORT_CLIENT_SECRET", "").strip()
        missing = [
            name for name, value in (("PORT_CLIENT_ID", client_id), ("PORT_CLIENT_SECRET", client_secret)) if not value
        ]
        if missing:
            raise PortConfigurationError(f"Port credentials missing: set {' and '.join(missing)} in the environment")
        url = api_url or env.get("PORT_API_URL", "").strip() or DEFAULT_API_URL
        return cls(client_id=client_id, client_secret=SecretStr(client_secret), api_url=url)


def normalise_api_url(value: str) -> str:
    """`https://host[:port][/prefix]` without a trailing `/` or `/v1`."""
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise PortConfigurationError(f"Port API URL must start with http:// or https://, got {value!r}")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    if url.count("/") < 2 or not url.split("/")[2]:
        raise PortConfigurationError(f"Port API URL has no host: {value!r}")
    return url
