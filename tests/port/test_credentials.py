from __future__ import annotations

import pytest
from pydantic import SecretStr

from port_aws_exporter.port import DEFAULT_API_URL, PortConfigurationError, PortCredentials
from port_aws_exporter.port.credentials import LEGACY_API_URL, PORT_API_URLS
from tests.contract.port_openapi import port_spec

SECRET = "sup3r-s3cret-value"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.getport.io", "https://api.getport.io"),
        ("https://api.getport.io/", "https://api.getport.io"),
        ("https://api.getport.io/v1", "https://api.getport.io"),
        ("https://api.getport.io/v1/", "https://api.getport.io"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  https://api.us.port.io/v1 ", "https://api.us.port.io"),
    ],
)
def test_api_url_is_normalised_with_or_without_v1(given: str, expected: str) -> None:
    assert PortCredentials(client_id="id", client_secret=SecretStr(SECRET), api_url=given).api_url == expected


def test_ports_regional_base_urls_are_the_documents_servers_and_the_client_takes_them_all() -> None:
    servers = [server["url"] for server in port_spec().document["servers"]]
    assert servers == [PORT_API_URLS["eu"], PORT_API_URLS["us"]]
    assert PORT_API_URLS["eu"] == DEFAULT_API_URL
    for url in [*servers, LEGACY_API_URL]:
        for given in (url, f"{url}/v1", f"{url}/v1/"):
            assert PortCredentials(client_id="id", client_secret=SecretStr(SECRET), api_url=given).api_url == url


@pytest.mark.parametrize("bad", ["api.getport.io", "ftp://x", "https://"])
def test_bad_api_url_says_what_is_wrong(bad: str) -> None:
    with pytest.raises(ValueError, match="Port API URL"):
        PortCredentials(client_id="id", client_secret=SecretStr(SECRET), api_url=bad)


def test_from_env_reads_the_three_variables() -> None:
    credentials = PortCredentials.from_env(
        {"PORT_CLIENT_ID": "abc", "PORT_CLIENT_SECRET": SECRET, "PORT_API_URL": "https://api.port.io/v1"}
    )
    assert credentials.client_id == "abc"
    assert credentials.client_secret.get_secret_value() == SECRET
    assert credentials.api_url == "https://api.port.io"


def test_from_env_defaults_the_url_and_lets_an_explicit_url_win() -> None:
    env = {"PORT_CLIENT_ID": "abc", "PORT_CLIENT_SECRET": SECRET}
    assert PortCredentials.from_env(env).api_url == DEFAULT_API_URL
    assert PortCredentials.from_env({**env, "PORT_API_URL": "https://x.io"}, api_url="http://h:1/v1").api_url == (
        "http://h:1"
    )


def test_from_env_names_every_missing_variable() -> None:
    with pytest.raises(PortConfigurationError) as raised:
        PortCredentials.from_env({"PORT_CLIENT_SECRET": "  "})
    assert "PORT_CLIENT_ID and PORT_CLIENT_SECRET" in str(raised.value)
    with pytest.raises(PortConfigurationError, match="PORT_CLIENT_SECRET") as raised:
        PortCredentials.from_env({"PORT_CLIENT_ID": "abc"})
    assert "PORT_CLIENT_ID" not in str(raised.value)


def test_the_secret_never_prints() -> None:
    credentials = PortCredentials(client_id="abc", client_secret=SecretStr(SECRET))
    for text in (repr(credentials), str(credentials), f"{credentials}", str(credentials.model_dump())):
        assert SECRET not in text
