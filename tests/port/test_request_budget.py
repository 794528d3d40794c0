"""One budget of Port requests per process: no more requests per window than set, slower as Port's
count of what is left runs low, shared by every client of the same credentials."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from port_aws_exporter.core.installation import Installation
from port_aws_exporter.local.catalog import RunningCatalog, start_catalog
from port_aws_exporter.port import PortClient
from port_aws_exporter.port.budget import (
    DEFAULT_REQUESTS_PER_MINUTE,
    MAX_SPACING_SECONDS,
    RequestBudget,
    process_budget,
)
from tests.fixtures.local_catalog import make_port_client


class _FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_more_requests_in_any_window_than_the_budget_allows() -> None:
    clock = _FakeClock()
    budget = RequestBudget(3, 10.0, clock=clock)
    starts = [budget.reserve() for _ in range(7)]
    assert starts == [100.0, 100.0, 100.0, 110.0, 110.0, 110.0, 120.0]
    clock.now = 125.0
    assert budget.reserve() == 125.0  # the window's oldest left at 120
    assert budget.requests == 8


def test_the_budget_spreads_what_port_says_is_left_until_the_reset() -> None:
    clock = _FakeClock()
    budget = RequestBudget(1000, 60.0, clock=clock)
    budget.observe({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "50", "x-ratelimit-reset": "30"})
    assert [budget.reserve() for _ in range(2)] == [100.0, 100.0]  # half left: full speed
    budget.observe({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "10", "x-ratelimit-reset": "2"})
    assert [budget.reserve() for _ in range(3)] == [100.0, 100.2, 100.4]  # 10 left for 2 s
    budget.observe({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "2", "x-ratelimit-reset": "30"})
    assert budget.reserve() == pytest.approx(100.6)
    assert budget.reserve() == pytest.approx(100.6 + MAX_SPACING_SECONDS)  # 15 s apart, capped
    # With none left the 429 and the retry policy take over: no pause here outlasts a caller's budget.
    budget.observe({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "30"})
    clock.now = 110.0
    assert budget.reserve() == 110.0
    budget.observe({"x-ratelimit-limit": "100"})  # an answer without the headers changes nothing
    assert budget.reserve() == 110.0


def test_every_client_of_one_organisation_in_a_process_shares_one_budget() -> None:
    # A catalog of its own: the budget lowered here must not slow the session's shared catalog.
    with start_catalog() as catalog:
        sync = make_port_client(catalog, Installation("111111111111", "us-east-1"))
        events = make_port_client(catalog, Installation("111111111111", "us-east-1"), timeout=5.0)
        _share_one_budget(catalog, sync, events)


def _share_one_budget(catalog: RunningCatalog, sync: PortClient, events: PortClient) -> None:
    account = sync.for_installation(Installation("222222222222", "eu-west-1"))
    with sync, events:
        assert sync.budget is events.budget is account.budget
        assert sync.budget.max_requests == DEFAULT_REQUESTS_PER_MINUTE == 7000  # Port's 35,000 per 5 minutes
        credentials = catalog.credentials()
        lowered = process_budget(credentials.api_url, credentials.client_id, requests_per_minute=600)
        assert lowered is sync.budget and sync.budget.max_requests == 600
        assert process_budget(credentials.api_url, credentials.client_id, 5000).max_requests == 600


@pytest.fixture
def recorded_catalog() -> Iterator[tuple[RunningCatalog, list[float]]]:
    """A catalog that notes when each `/v1` request reaches it."""
    arrivals: list[float] = []

    def recorder(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/v1/"):
                arrivals.append(time.monotonic())
            await app(scope, receive, send)

        return wrapped

    with start_catalog(wrap_app=recorder) as catalog:
        yield catalog, arrivals


def _most_in_any_window(arrivals: list[float], window: float) -> int:
    ordered = sorted(arrivals)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_the_budget_holds_under_a_burst_of_the_sync_and_the_event_path_together(
    recorded_catalog: tuple[RunningCatalog, list[float]],
) -> None:
    catalog, arrivals = recorded_catalog
    budget = RequestBudget(8, 1.0)
    with make_port_client(catalog, None) as setup:
        setup.create_blueprint({"identifier": "burst", "title": "Burst", "schema": {"properties": {}}})
    arrivals.clear()
    sync = make_port_client(catalog, Installation("111111111111", "us-east-1"), budget=budget, max_concurrency=5)
    events = make_port_client(catalog, Installation("111111111111", "us-east-1"), budget=budget)
    results: dict[str, Any] = {}

    def sync_writes() -> None:
        results["sync"] = sync.bulk_upsert("burst", [{"identifier": f"s{n}", "properties": {}} for n in range(200)])

    def event_writes() -> None:
        results["events"] = [
            sync_result
            for n in range(12)
            for sync_result in events.bulk_upsert("burst", [{"identifier": f"e{n}", "properties": {}}])
        ]

    with sync, events:
        writers = [threading.Thread(target=sync_writes), threading.Thread(target=event_writes)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()

    assert all(result.ok for result in results["sync"] + results["events"])
    # 10 bulk requests, 12 single ones, 2 token fetches: 24 requests, never more than 8 in a second
    # (arrivals a little short of a second apart count together: loopback jitter is not the budget's).
    assert len(arrivals) == 24 == budget.requests
    assert _most_in_any_window(arrivals, 0.95) <= 8
    assert budget.waited_seconds > 0
    assert sync.counters.throttled == events.counters.throttled == 0
