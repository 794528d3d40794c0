from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from port_aws_exporter.port.errors import PortApiError
from port_aws_exporter.port.retry import RetryPolicy, retry_after_hint


def test_retry_after_in_seconds_wins() -> None:
    assert retry_after_hint(429, {"retry-after": "3", "x-ratelimit-reset": "0"}) == 3.0
    assert retry_after_hint(503, {"retry-after": "0.25"}) == 0.25


def test_retry_after_as_http_date() -> None:
    now = time.time()
    date = format_datetime(datetime.fromtimestamp(now + 30, UTC), usegmt=True)
    assert retry_after_hint(429, {"retry-after": date}, now=now) == pytest.approx(30, abs=1.01)


def test_a_retry_after_that_is_neither_seconds_nor_a_date_gives_no_hint() -> None:
    assert retry_after_hint(503, {"retry-after": "soon"}) is None
    now = 1_760_000_000.0
    assert retry_after_hint(429, {"retry-after": "soon", "x-ratelimit-reset": str(int(now) + 10)}, now=now) == 10.0


def test_ratelimit_reset_is_used_on_429_only() -> None:
    now = 1_760_000_000.0
    headers = {"x-ratelimit-reset": str(int(now) + 10)}
    assert retry_after_hint(429, headers, now=now) == 10.0
    assert retry_after_hint(429, headers, now=now + 1000) == 0.0
    assert retry_after_hint(500, headers, now=now) is None
    assert retry_after_hint(429, {}, now=now) is None


@pytest.mark.parametrize(
    ("reset", "wait"),
    [
        ("37", 37.0),  # seconds until the reset (Port's docs site, its Terraform provider)
        ("0", 0.0),
        ("299.5", 299.5),
        ("1760000037", 37.0),  # the UTC epoch second of the reset (Port's docs repository)
        ("1759999990", 0.0),  # a reset already past
    ],
)
def test_ratelimit_reset_is_read_as_an_epoch_or_as_seconds_until_the_reset(reset: str, wait: float) -> None:
    assert retry_after_hint(429, {"x-ratelimit-reset": reset}, now=1_760_000_000.0) == wait


@given(retry=st.integers(min_value=1, max_value=40), seed=st.integers())
def test_backoff_is_full_jitter_under_an_exponential_cap(retry: int, seed: int) -> None:
    policy = RetryPolicy(base_delay_seconds=0.5, max_delay_seconds=30.0)
    delay = policy.backoff_delay(retry, random.Random(seed))
    assert 0.0 <= delay <= min(30.0, 0.5 * 2 ** (retry - 1))


def _transient(retry_after: float | None = None) -> PortApiError:
    return PortApiError("POST", "/v1/x", 503, "internal_error", "boom", retry_after=retry_after)


def test_stops_after_max_attempts_and_reports_them() -> None:
    calls: list[int] = []
    retries: list[float] = []

    def attempt() -> None:
        calls.append(1)
        raise _transient()

    policy = RetryPolicy(max_attempts=4, budget_seconds=10, base_delay_seconds=0.001)
    with pytest.raises(PortApiError) as raised:
        policy.run(attempt, lambda _error, delay: retries.append(delay))
    assert len(calls) == 4
    assert len(retries) == 3
    assert raised.value.attempts == 4
    assert "after 4 attempts" in str(raised.value)


def test_permanent_errors_are_not_retried() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise PortApiError("POST", "/v1/x", 422, "invalid_request", "bad")

    with pytest.raises(PortApiError) as raised:
        RetryPolicy().run(attempt, lambda _error, _delay: None)
    assert calls == [1]
    assert raised.value.transient is False


def test_a_retry_after_beyond_the_budget_ends_the_retries_at_once() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise _transient(retry_after=60)

    started = time.monotonic()
    with pytest.raises(PortApiError):
        RetryPolicy(max_attempts=5, budget_seconds=0.5).run(attempt, lambda _error, _delay: None)
    assert calls == [1]
    assert time.monotonic() - started < 0.5


def test_retry_after_is_honoured() -> None:
    outcomes: list[BaseException | str] = [_transient(retry_after=0.2), "done"]
    delays: list[float] = []

    def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    started = time.monotonic()
    assert RetryPolicy().run(attempt, lambda _error, delay: delays.append(delay)) == "done"
    assert delays == [0.2]
    assert time.monotonic() - started >= 0.2


def test_policy_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(budget_seconds=-1)


class _SimulatedClock:
    """Time that passes only when the policy sleeps (or an attempt says it took a while)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _SimulatedClock:
    simulated = _SimulatedClock()
    monkeypatch.setattr(time, "monotonic", simulated.monotonic)
    monkeypatch.setattr(time, "sleep", simulated.sleep)
    return simulated


@pytest.mark.parametrize("seed", range(20))
def test_the_default_budget_rides_out_an_8_s_outage(clock: _SimulatedClock, seed: int) -> None:
    random.seed(seed)
    outage_ends = clock.now + 8.0

    def attempt() -> str:
        clock.now += 0.01  # each request takes a little time
        if clock.now < outage_ends:
            raise _transient()
        return "written"

    assert RetryPolicy().run(attempt, lambda _error, _delay: None) == "written"


def test_retries_go_on_until_the_budget_is_spent_and_the_last_starts_at_its_end(clock: _SimulatedClock) -> None:
    started = clock.now
    attempts: list[float] = []

    def attempt() -> None:
        attempts.append(clock.now - started)
        raise _transient()

    with pytest.raises(PortApiError) as raised:
        RetryPolicy(budget_seconds=60.0).run(attempt, lambda _error, _delay: None)
    assert attempts[-1] == pytest.approx(60.0)  # not given up after a count of attempts
    assert all(start <= 60.0 for start in attempts)
    assert raised.value.attempts == len(attempts) > 6
