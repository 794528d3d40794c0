from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import pytest

from port_aws_exporter.local.catalog import FaultSettings, RunningCatalog, start_catalog
from port_aws_exporter.port import PortApiError
from tests.fixtures.local_catalog import make_port_client


def test_faults_are_off_by_default(local_catalog: RunningCatalog, api: httpx.Client) -> None:
    statuses = Counter(api.get("/v1/blueprints").status_code for _ in range(30))
    assert statuses == {200: 30}
    faults = httpx.get(f"{local_catalog.url}/_local/faults").json()["faults"]
    assert faults["throttle_rate"] == 0 and faults["server_error_rate"] == 0


def test_throttling_answers_429_with_retry_after_and_port_body(
    local_catalog: RunningCatalog, api: httpx.Client
) -> None:
    local_catalog.faults.update(throttle_rate=1.0, retry_after_seconds=2)
    response = api.get("/v1/blueprints")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"ok": False, "error": "rate_limited", "message": "simulated throttling"}


def test_fault_rates_are_roughly_honoured(local_catalog: RunningCatalog, api: httpx.Client) -> None:
    local_catalog.faults.update(throttle_rate=0.2, server_error_rate=0.2, seed=11)
    statuses = Counter(api.get("/v1/blueprints").status_code for _ in range(300))
    assert 30 <= statuses[429] <= 90
    assert 30 <= statuses[500] + statuses[502] + statuses[503] <= 90
    assert statuses[200] + statuses[429] + statuses[500] + statuses[502] + statuses[503] == 300


def test_faults_are_set_over_http_at_run_time(local_catalog: RunningCatalog, api: httpx.Client) -> None:
    control = f"{local_catalog.url}/_local/faults"
    changed = httpx.put(control, json={"server_error_rate": 1.0})
    assert changed.json()["faults"]["server_error_rate"] == 1.0
    assert api.get("/v1/blueprints").status_code in {500, 502, 503}
    assert httpx.put(control, json={"server_error_rate": 2}).status_code == 422
    assert "unknown" in httpx.put(control, json={"bogus": 1}).json()["message"]
    httpx.delete(control)
    assert api.get("/v1/blueprints").status_code == 200


def test_an_outage_window_answers_503_then_ends(local_catalog: RunningCatalog, api: httpx.Client) -> None:
    control = f"{local_catalog.url}/_local/faults"
    # A window long enough that the two requests below land in it even on a busy machine.
    httpx.put(control, json={"outage_seconds": 1.0})
    assert httpx.get(control).json()["faults"]["outage_remaining_seconds"] > 0
    down = api.get("/v1/blueprints")
    assert down.status_code == 503
    assert down.json()["error"] == "service_unavailable"
    deadline = time.monotonic() + 30
    while httpx.get(control).json()["faults"]["outage_remaining_seconds"] > 0:
        assert time.monotonic() < deadline, "the outage did not end"
        time.sleep(0.05)
    assert api.get("/v1/blueprints").status_code == 200


def test_latency_is_added(local_catalog: RunningCatalog, api: httpx.Client) -> None:
    local_catalog.faults.update(latency_seconds=0.2)
    started = time.monotonic()
    assert api.get("/v1/blueprints").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_the_token_route_can_be_spared(local_catalog: RunningCatalog) -> None:
    local_catalog.faults.update(server_error_rate=1.0, include_auth=False)
    response = httpx.post(
        f"{local_catalog.url}/v1/auth/access_token",
        json={"clientId": local_catalog.client_id, "clientSecret": local_catalog.client_secret},
    )
    assert response.status_code == 200


def test_faults_given_at_start() -> None:
    with start_catalog(faults={"throttle_rate": 1.0}) as catalog:
        assert httpx.get(f"{catalog.url}/v1/blueprints").status_code == 429
        assert httpx.get(f"{catalog.url}/_local/health").json() == {"ok": True}  # control routes spared


@pytest.mark.parametrize(
    "bad",
    [{"throttle_rate": -0.1}, {"throttle_rate": 0.6, "server_error_rate": 0.6}, {"latency_seconds": -1}],
)
def test_bad_fault_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultSettings(**bad)


def test_rate_limit_headers_and_429_past_the_limit() -> None:
    with start_catalog(rate_limit=5, rate_limit_period_seconds=60) as catalog:
        responses = [httpx.get(f"{catalog.url}/v1/blueprints") for _ in range(6)]
    first, last = responses[0], responses[-1]
    assert first.headers["x-ratelimit-limit"] == "5"
    assert first.headers["x-ratelimit-period"] == "60"
    assert first.headers["x-ratelimit-remaining"] == "4"
    assert int(first.headers["x-ratelimit-reset"]) >= int(time.time())
    assert [response.status_code for response in responses[:5]] == [401] * 5  # counted, then refused for no token
    assert last.status_code == 429
    assert last.json()["error"] == "rate_limited"
    assert "retry-after" not in last.headers  # Port documents only the x-ratelimit-* headers
    assert int(time.time()) < int(last.headers["x-ratelimit-reset"]) <= int(time.time()) + 61


def test_rate_limit_reset_as_seconds_until_the_reset() -> None:
    with start_catalog(rate_limit=1, rate_limit_period_seconds=60, rate_limit_reset="relative") as catalog:
        responses = [httpx.get(f"{catalog.url}/v1/blueprints") for _ in range(2)]
    assert [response.status_code for response in responses] == [401, 429]
    assert 0 < int(responses[1].headers["x-ratelimit-reset"]) <= 60


@pytest.mark.parametrize("form", ["epoch", "relative"])
def test_the_client_waits_for_the_reset_in_either_form(form: str) -> None:
    """A 429 with only `x-ratelimit-reset` gives the client the wait to the window's end (a 0 s
    wait here would be a burst of immediate retries)."""
    with (
        start_catalog(rate_limit=2, rate_limit_period_seconds=120, rate_limit_reset=form) as catalog,
        make_port_client(catalog, max_attempts=1) as client,
    ):
        client.list_blueprints()  # the token and one call use the window's two requests
        with pytest.raises(PortApiError) as refused:
            client.list_blueprints()
    assert refused.value.status == 429
    assert refused.value.retry_after is not None
    assert 60 < refused.value.retry_after <= 121  # the epoch form is rounded up to a whole second


def test_stats_count_requests_and_time_per_operation(local_catalog: RunningCatalog, api: httpx.Client) -> None:
    httpx.delete(f"{local_catalog.url}/_local/stats")
    for _ in range(3):
        api.get("/v1/blueprints")
    api.get("/v1/blueprints/ghost")
    stats = httpx.get(f"{local_catalog.url}/_local/stats").json()["stats"]
    assert stats["list_blueprints"]["requests"] == 3
    assert 0 < stats["list_blueprints"]["operation_seconds"] <= stats["list_blueprints"]["endpoint_seconds"]
    assert "get_blueprint" not in stats  # refused requests are not timed
    assert stats["total"]["requests"] == 3
