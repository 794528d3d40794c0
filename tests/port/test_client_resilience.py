"""The client under failure: expired tokens, 401s, 413s, throttling, 5xx, outages, dead servers."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from pydantic import SecretStr

from port_aws_exporter.local.catalog import RunningCatalog, start_catalog
from port_aws_exporter.port import PortApiError, PortAuthError, PortClient, PortCredentials
from tests.fixtures.local_catalog import CATALOG_INSTALLATION, make_port_client
from tests.port.conftest import SERVICE_BLUEPRINT, service


def stored_identifiers(catalog: RunningCatalog, blueprint: str) -> set[str]:
    return {entity["identifier"] for entity in catalog.service.list_entities(blueprint)}


def test_token_expiring_mid_run_is_renewed_transparently(tmp_path: pytest.TempPathFactory) -> None:
    with start_catalog(token_ttl_seconds=0.6) as catalog, make_port_client(catalog) as client:
        client.create_blueprint(SERVICE_BLUEPRINT)
        # Writes go on until the token has been renewed twice (about a second), whatever the load.
        deadline = time.monotonic() + 60
        index = 0
        while client.counters.auth_calls < 3:
            assert time.monotonic() < deadline, f"{client.counters.auth_calls} token(s) fetched in 60 s"
            assert client.bulk_upsert("service", [service(index)])[0].ok
            index += 1
            time.sleep(0.05)
        assert client.counters.auth_calls >= 3
        assert len(stored_identifiers(catalog, "service")) == index


def test_a_401_renews_the_token_once_and_the_call_succeeds(
    local_catalog: RunningCatalog, port_client: PortClient, service_blueprint: str
) -> None:
    assert port_client.bulk_upsert(service_blueprint, [service(1)])[0].ok
    httpx.post(f"{local_catalog.url}/_local/tokens/revoke").raise_for_status()
    assert port_client.bulk_upsert(service_blueprint, [service(2)])[0].ok
    assert port_client.counters.token_refreshes_on_401 == 1
    assert port_client.counters.auth_calls == 2
    assert stored_identifiers(local_catalog, service_blueprint) == {"svc-00001", "svc-00002"}


def test_wrong_credentials_fail_fast_and_permanently(local_catalog: RunningCatalog) -> None:
    credentials = PortCredentials(
        client_id=local_catalog.client_id, client_secret=SecretStr("wrong"), api_url=local_catalog.url
    )
    with PortClient(credentials, CATALOG_INSTALLATION) as client, pytest.raises(PortAuthError) as raised:
        client.get_blueprint("service")
    error = raised.value
    assert (error.status, error.error, error.transient, error.path) == (
        401,
        "unauthorized",
        False,
        "/v1/auth/access_token",
    )
    assert client.counters.auth_calls == 1


def test_413_splits_the_request_until_it_fits() -> None:
    with start_catalog(max_body_bytes=40_000) as catalog, make_port_client(catalog) as client:
        client.create_blueprint(SERVICE_BLUEPRINT)
        entities = [service(index, arn="a" * 4_000) for index in range(20)]  # ~82 KB in one request
        results = client.bulk_upsert("service", entities)
        assert all(result.ok for result in results)
        assert stored_identifiers(catalog, "service") == {entity["identifier"] for entity in entities}
        # 20 -> 2 x 10 (each ~41 KB, still too large) -> 4 x 5
        assert client.counters.requests["entity_bulk_upsert"] == 7


def test_30_percent_throttling_and_server_errors_still_write_everything(
    local_catalog: RunningCatalog, service_blueprint: str
) -> None:
    local_catalog.faults.update(throttle_rate=0.15, server_error_rate=0.15, retry_after_seconds=0.01, seed=7)
    entities = [service(index) for index in range(400)]
    with make_port_client(local_catalog, max_concurrency=4) as client:
        results = client.bulk_upsert(service_blueprint, entities)
        single = [client.upsert_entity(service_blueprint, service(1000 + index)) for index in range(20)]
    assert all(result.ok for result in results)
    assert len(single) == 20
    assert client.counters.retries > 0
    assert client.counters.throttled > 0
    local_catalog.faults.clear()
    assert len(stored_identifiers(local_catalog, service_blueprint)) == 420


def test_an_outage_longer_than_the_budget_fails_clearly_and_claims_nothing(
    local_catalog: RunningCatalog, service_blueprint: str
) -> None:
    with make_port_client(local_catalog, retry_budget_seconds=0.5, max_attempts=50) as client:
        assert client.bulk_upsert(service_blueprint, [service(0)])[0].ok
        # Longer than both calls below take, however slow the machine; cleared at the end.
        local_catalog.faults.start_outage(60.0)
        started = time.monotonic()
        results = client.bulk_upsert(service_blueprint, [service(index) for index in range(1, 41)])
        elapsed = time.monotonic() - started
        with pytest.raises(PortApiError) as raised:
            client.upsert_entity(service_blueprint, service(99))
    assert elapsed < 2.5
    assert [result.ok for result in results] == [False] * 40
    assert {(result.status, result.transient) for result in results} == {(503, True)}
    assert "service_unavailable" in (results[0].message or "")
    error = raised.value
    assert (error.status, error.transient) == (503, True)
    assert error.attempts > 1
    assert f"after {error.attempts} attempts" in str(error)
    local_catalog.faults.clear()
    assert stored_identifiers(local_catalog, service_blueprint) == {"svc-00000"}


def test_a_token_outage_is_retried_within_the_attempts_of_the_call(local_catalog: RunningCatalog) -> None:
    local_catalog.faults.start_outage(60.0)  # the token route too
    with make_port_client(local_catalog, max_attempts=3) as client, pytest.raises(PortApiError) as raised:
        client.get_blueprint("service")
    error = raised.value
    assert (error.status, error.path, error.transient, error.attempts) == (503, "/v1/auth/access_token", True, 3)
    assert client.counters.auth_calls == 3  # not 3 token attempts in each of 3 attempts
    assert client.counters.retries == 2


def test_a_short_outage_is_ridden_out(local_catalog: RunningCatalog, service_blueprint: str) -> None:
    # The budget, not the count of attempts, bounds the retries: full jitter may draw ten delays that
    # add up to less than the outage, never fifty.
    with make_port_client(local_catalog, retry_budget_seconds=5.0, backoff_max_seconds=0.3, max_attempts=50) as client:
        local_catalog.faults.start_outage(0.5)
        results = client.bulk_upsert(service_blueprint, [service(index) for index in range(30)])
    assert all(result.ok for result in results)
    assert client.counters.retries > 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_server_is_a_transient_connection_error() -> None:
    credentials = PortCredentials(
        client_id="a", client_secret=SecretStr("b"), api_url=f"http://127.0.0.1:{_free_port()}"
    )
    with (
        PortClient(credentials, CATALOG_INSTALLATION, max_attempts=3, backoff_base_seconds=0.01) as client,
        pytest.raises(PortApiError) as raised,
    ):
        client.get_entity("service", "x")
    assert (raised.value.status, raised.value.error, raised.value.transient) == (
        None,
        "connection_error",
        True,
    )
    assert raised.value.attempts == 3


def test_latency_beyond_the_timeout_is_a_transient_timeout(
    local_catalog: RunningCatalog, service_blueprint: str
) -> None:
    with make_port_client(local_catalog, timeout=0.2, max_attempts=2) as client:
        client.get_blueprint(service_blueprint)  # token fetched before the latency starts
        local_catalog.faults.update(latency_seconds=0.5, include_auth=False)
        with pytest.raises(PortApiError) as raised:
            client.get_entity(service_blueprint, "svc-1")
    assert (raised.value.status, raised.value.error, raised.value.transient) == (None, "timeout", True)


@pytest.fixture
def every_log_record(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    for name in ("", "httpx", "httpcore", "port_aws_exporter", "uvicorn", "tenacity"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        yield caplog
    for name in ("httpx", "httpcore", "port_aws_exporter", "uvicorn", "tenacity"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_no_token_or_secret_in_logs_or_errors(
    local_catalog: RunningCatalog, service_blueprint: str, every_log_record: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    with make_port_client(local_catalog, retry_budget_seconds=0.3) as client:
        local_catalog.faults.update(throttle_rate=0.3, server_error_rate=0.3, retry_after_seconds=0.01, seed=3)
        results = client.bulk_upsert(service_blueprint, [service(index) for index in range(60)])
        texts += [f"{result}" for result in results]
        local_catalog.faults.clear()
        httpx.post(f"{local_catalog.url}/_local/tokens/revoke")
        client.bulk_upsert(service_blueprint, [service(1, memory="bad")])
        failing_calls: list[Callable[[], object]] = [
            lambda: client.upsert_entity(service_blueprint, service(2, memory="bad")),
            lambda: client.get_blueprint("has space/"),
        ]
        for failing in failing_calls:
            try:
                failing()
            except PortApiError as error:
                texts += [str(error), repr(error), repr(error.__cause__)]
        texts += [repr(client), repr(client.credentials), str(client.counters.snapshot())]
        token = httpx.post(
            f"{local_catalog.url}/v1/auth/access_token",
            json={"clientId": local_catalog.client_id, "clientSecret": local_catalog.client_secret},
        ).json()["accessToken"]  # Port gives the same active token: the client's current one
    wrong = PortCredentials(
        client_id="x",
        client_secret=SecretStr(local_catalog.client_secret + "-not"),
        api_url=local_catalog.url,
    )
    with PortClient(wrong) as bad_client:
        try:
            bad_client.get_blueprint("x")
        except PortAuthError as error:
            texts += [str(error), repr(error)]
    texts += [record.getMessage() for record in every_log_record.records]
    texts += [str(record.args) for record in every_log_record.records]
    assert len(every_log_record.records) > 10  # the retries and requests were logged
    secrets = (token, local_catalog.client_secret)
    leaks = [text for text in texts for secret in secrets if secret in text]
    assert leaks == []
