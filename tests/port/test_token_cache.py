from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from port_aws_exporter.port.errors import PortApiError
from port_aws_exporter.port.token_cache import TokenCache


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_is_reused_then_renewed_before_it_expires() -> None:
    clock = ManualClock()
    issued: list[str] = []

    def fetch() -> tuple[str, float]:
        issued.append(f"t{len(issued)}")
        return issued[-1], 3600.0

    cache = TokenCache(fetch, clock)
    assert cache.get() == "t0"
    clock.now += 3600 - 61  # more than the 60 s margin left
    assert cache.get() == "t0"
    clock.now += 2  # inside the margin: renew now rather than fail later
    assert cache.get() == "t1"


def test_short_lifetimes_renew_at_four_fifths() -> None:
    clock = ManualClock()
    tokens = iter(["t", "u"])
    cache = TokenCache(lambda: (next(tokens), 10.0), clock)
    assert cache.get() == "t"
    clock.now += 7.9
    assert cache.get() == "t"
    clock.now += 0.2
    assert cache.get() == "u"


def test_invalidate_forgets_only_the_rejected_token() -> None:
    tokens = iter(["a", "b", "c"])
    cache = TokenCache(lambda: (next(tokens), 3600.0))
    assert cache.get() == "a"
    cache.invalidate("a")
    assert cache.get() == "b"
    cache.invalidate("a")  # a late 401 for the old token must not throw away the new one
    assert cache.get() == "b"


def test_concurrent_callers_share_one_fetch() -> None:
    fetches: list[int] = []
    gate = threading.Event()

    def fetch() -> tuple[str, float]:
        fetches.append(1)
        gate.wait(1)
        return "shared", 3600.0

    cache = TokenCache(fetch)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get) for _ in range(8)]
        time.sleep(0.05)
        gate.set()
        assert {future.result() for future in futures} == {"shared"}
    assert fetches == [1]


def test_callers_waiting_on_a_failed_fetch_get_its_error_without_refetching() -> None:
    fetches: list[int] = []
    gate = threading.Event()

    def fetch() -> tuple[str, float]:
        fetches.append(1)
        gate.wait(1)
        raise PortApiError("POST", "/v1/auth/access_token", 503, "down", "outage")

    # The clock stands still: every caller asked no later than the failure, however late its thread
    # got to ask (on a loaded machine, later than the 50 ms below).
    cache = TokenCache(fetch, ManualClock())
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.get) for _ in range(4)]
        time.sleep(0.05)
        gate.set()
        for future in futures:
            with pytest.raises(PortApiError, match="outage"):
                future.result()
    assert fetches == [1]
