from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import pytest
from moto.server import ThreadedMotoServer

from port_aws_exporter import __version__
from port_aws_exporter.aws.identity import resolve_installation
from port_aws_exporter.core.installation import Installation


def test_user_agent_names_the_product_version_account_and_region() -> None:
    installation = Installation("123456789012", "eu-west-1")
    assert installation.user_agent == f"port-aws-exporter/{__version__} (accountid/123456789012 region/eu-west-1)"


def test_datasource_rules_select_this_installation_only() -> None:
    installation = Installation("123456789012", "us-east-1")
    assert installation.datasource_rules == [
        {"property": "$datasource", "operator": "contains", "value": "port-aws-exporter"},
        {
            "property": "$datasource",
            "operator": "contains",
            "value": "accountid/123456789012 region/us-east-1)",
        },
    ]
    # The original exporter's User-Agent is owned too; a longer region name is not.
    original = "port-aws-exporter/0.1 (accountid/123456789012 region/us-east-1)"
    assert all(rule["value"] in original for rule in installation.datasource_rules)
    assert installation.owner_tag not in Installation("123456789012", "us-east-12").user_agent
    assert installation.owned_entities_query == {"combinator": "and", "rules": installation.datasource_rules}


@pytest.mark.parametrize(("account", "region"), [("12345", "us-east-1"), ("123456789012", "Mars"), ("", "")])
def test_bad_account_or_region_is_refused_with_the_value(account: str, region: str) -> None:
    with pytest.raises(ValueError, match=r"account id|region"):
        Installation(account, region)


def test_lambda_context_gives_account_from_arn_and_region_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    context = SimpleNamespace(invoked_function_arn="arn:aws:lambda:eu-central-1:210987654321:function:exporter:live")
    assert resolve_installation(boto3.Session(region_name="us-west-2"), context) == Installation(
        "210987654321", "eu-central-1"
    )


def test_lambda_context_with_a_bad_arn_is_refused() -> None:
    context = SimpleNamespace(invoked_function_arn="not-an-arn")
    with pytest.raises(ValueError, match="not a Lambda function ARN"):
        resolve_installation(boto3.Session(region_name="us-east-1"), context)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _session(monkeypatch: pytest.MonkeyPatch, endpoint: str, region: str | None) -> boto3.Session:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", endpoint)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)


def test_outside_lambda_the_account_comes_from_sts(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> None:
    installation = resolve_installation(_session(monkeypatch, moto_endpoint, "ap-southeast-2"))
    assert installation == Installation("123456789012", "ap-southeast-2")


def test_without_a_region_the_default_is_us_east_1(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    installation = resolve_installation(_session(monkeypatch, moto_endpoint, None))
    assert installation.region == "us-east-1"
