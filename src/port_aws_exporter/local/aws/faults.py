"""Fault injection: make chosen AWS calls fail or slow down, on purpose, at run time.

Off by default. A rule names a call (`CloudApiService.GetResource`, `AmazonSQS.ReceiveMessage`,
`ec2:DescribeInstances`, or a glob such as `sqs:*`), optionally one region, and says what happens:
fail the next N matching calls, or a fraction of them, with an AWS error code and HTTP status; and/or
add latency. Rules are set from Python (`RunningLocalAws.faults`) or over HTTP (`/_local/faults`).

Example::

    aws.faults.fail("CloudApiService.GetResource", code="ThrottlingException", count=2)
    aws.faults.delay("AmazonSQS.ReceiveMessage", latency_ms=200, region="eu-west-1")
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Protocol

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown"})
_RULE_FIELDS = ("target", "code", "status", "message", "region", "count", "probability", "latency_ms")


class FaultTarget(Protocol):
    """What a rule needs to know about a call."""

    @property
    def target_names(self) -> tuple[str, ...]: ...

    @property
    def region(self) -> str: ...


@dataclass(frozen=True)
class FaultRule:
    """One fault-injection rule.

    - `target`: a call name or glob, matched against the call's target (`AmazonSQS.ReceiveMessage`)
      and its `service:Operation` alias (`sqs:ReceiveMessage`).
    - `code`/`status`/`message`: the AWS error to answer with; `code=None` only adds latency.
    - `region`: only calls signed for this region (any region when None).
    - `count`: the rule fires this many times, then is removed (forever when None).
    - `probability`: the fraction of matching calls it fires on.
    - `latency_ms`: added before the answer, whether an error or moto's real answer.
    """

    target: str
    code: str | None = "ThrottlingException"
    status: int = 400
    message: str | None = None
    region: str | None = None
    count: int | None = None
    probability: float = 1.0
    latency_ms: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not self.target:
            problems.append("target is empty")
        if not 100 <= self.status <= 599:
            problems.append(f"status {self.status} is not an HTTP status")
        if not 0.0 <= self.probability <= 1.0:
            problems.append(f"probability {self.probability} is not between 0 and 1")
        if self.count is not None and self.count < 1:
            problems.append(f"count {self.count} is below 1")
        if self.latency_ms < 0:
            problems.append(f"latency_ms {self.latency_ms} is negative")
        if self.code is None and self.latency_ms == 0:
            problems.append("a rule without code must add latency")
        if problems:
            raise ValueError(f"invalid fault rule for {self.target!r}: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from its JSON form, rejecting unknown keys by name."""
        unknown = sorted(set(data) - set(_RULE_FIELDS))
        if unknown:
            raise ValueError(f"unknown fault rule field(s) {unknown}; known: {list(_RULE_FIELDS)}")
        if "target" not in data:
            raise ValueError("a fault rule needs a target, e.g. 'CloudApiService.GetResource'")
        return cls(**data)

    def matches(self, call: FaultTarget) -> bool:
        """Whether this rule applies to `call` (before the probability roll)."""
        if self.region is not None and call.region != self.region:
            return False
        return any(fnmatchcase(name, self.target) for name in call.target_names)

    @property
    def error_message(self) -> str:
        """The message sent with the error."""
        if self.message is not None:
            return self.message
        if self.code in THROTTLING_CODES:
            return "Rate exceeded"
        return f"Injected fault: {self.code}"


@dataclass
class FaultDecision:
    """What to do with one call: wait `latency_ms`, then answer with `error` (or pass it on)."""

    latency_ms: int = 0
    error: FaultRule | None = None


@dataclass
class _ActiveRule:
    rule: FaultRule
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    remaining: int | None = None
    fired: int = 0

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self.rule), "remaining": self.remaining, "fired": self.fired}


class FaultInjector:
    """The set of active fault rules; thread-safe, consulted by the middleware on every call."""

    def __init__(self, *, random_seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_ActiveRule] = []
        self._random = random.Random(random_seed)
        # Set (and replaced) by `clear`: calls waiting out injected latency answer at once.
        self._cleared = threading.Event()

    @property
    def active(self) -> bool:
        """True while any rule is set (the middleware skips all work otherwise)."""
        return bool(self._rules)

    def add(self, rule: FaultRule) -> str:
        """Activate `rule`; returns its id (for `remove`)."""
        active = _ActiveRule(rule, remaining=rule.count)
        with self._lock:
            self._rules.append(active)
        return active.id

    def fail(self, target: str, *, code: str = "ThrottlingException", status: int = 400, **options: Any) -> str:
        """Make calls to `target` fail with `code`/`status` (see `FaultRule` for `count`, `region`...)."""
        return self.add(FaultRule(target=target, code=code, status=status, **options))

    def delay(self, target: str, *, latency_ms: int, **options: Any) -> str:
        """Add `latency_ms` to calls to `target`, which then proceed normally."""
        return self.add(FaultRule(target=target, code=None, latency_ms=latency_ms, **options))

    def remove(self, rule_id: str) -> bool:
        """Deactivate one rule; False when no rule has that id."""
        with self._lock:
            kept = [active for active in self._rules if active.id != rule_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
        return removed

    def clear(self) -> None:
        """Deactivate every rule; calls still waiting out injected latency go on at once."""
        with self._lock:
            self._rules = []
            cleared, self._cleared = self._cleared, threading.Event()
        cleared.set()

    def wait_latency(self, seconds: float) -> None:
        """Wait out a call's injected latency, or until the rules are cleared."""
        with self._lock:
            cleared = self._cleared
        cleared.wait(seconds)

    def seed(self, random_seed: int) -> None:
        """Make probability rolls reproducible."""
        with self._lock:
            self._random.seed(random_seed)

    def rules(self) -> list[dict[str, Any]]:
        """The active rules with their remaining counts and how often each fired."""
        with self._lock:
            return [active.describe() for active in self._rules]

    def decide(self, call: FaultTarget) -> FaultDecision | None:
        """The fault for this call, if any rule fires; consumes one use of each firing rule."""
        decision = FaultDecision()
        with self._lock:
            for active in list(self._rules):
                if not active.rule.matches(call) or self._random.random() >= active.rule.probability:
                    continue
                active.fired += 1
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining == 0:
                        self._rules.remove(active)
                decision.latency_ms += active.rule.latency_ms
                if active.rule.code is not None:
                    decision.error = active.rule
                    break
        if decision.error is None and decision.latency_ms == 0:
            return None
        return decision
