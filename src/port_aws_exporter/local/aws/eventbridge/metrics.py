"""What the local EventBridge did with events, per rule: the counters AWS publishes as `AWS/Events`
metrics (MatchedEvents, Invocations, FailedInvocations), and the recent failed invocations with why.

AWS drops an invocation it cannot make (a template rendering invalid JSON, a queue that does not
exist) without failing PutEvents; these counters are where a test or a developer sees it happen.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

# Enough to see what just went wrong, bounded so a long benchmark cannot grow it without limit.
MAX_FAILURES_KEPT = 200


@dataclass
class RuleMetrics:
    """The counters of one rule (or of several, summed), named as in CloudWatch's `AWS/Events`.

    `invocations` counts every attempt to reach a target, failed ones included, as AWS does.
    """

    matched_events: int = 0
    invocations: int = 0
    failed_invocations: int = 0

    def to_dict(self) -> dict[str, int]:
        """`{"MatchedEvents": n, "Invocations": n, "FailedInvocations": n}`."""
        return {
            "MatchedEvents": self.matched_events,
            "Invocations": self.invocations,
            "FailedInvocations": self.failed_invocations,
        }


@dataclass(frozen=True)
class FailedInvocation:
    """One invocation EventBridge could not make: which rule, target and event, and why."""

    rule_arn: str
    target_id: str
    target_arn: str
    event_id: str
    reason: str


@dataclass
class EventBridgeMetrics:
    """Counters per rule ARN and the last `MAX_FAILURES_KEPT` failed invocations (thread-safe)."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rules: dict[str, RuleMetrics] = field(default_factory=dict)
    _failures: deque[FailedInvocation] = field(default_factory=lambda: deque(maxlen=MAX_FAILURES_KEPT))

    def record_match(self, rule_arn: str) -> None:
        """An event matched the rule."""
        with self._lock:
            self._rules.setdefault(rule_arn, RuleMetrics()).matched_events += 1

    def record_invocation(self, rule_arn: str, failure: FailedInvocation | None = None) -> None:
        """The rule tried one target; `failure` when the target did not get the event."""
        with self._lock:
            metrics = self._rules.setdefault(rule_arn, RuleMetrics())
            metrics.invocations += 1
            if failure is not None:
                metrics.failed_invocations += 1
                self._failures.append(failure)

    def rule(self, rule: str) -> RuleMetrics:
        """The counters of a rule, by ARN, or by name (summed over every region and bus it exists in)."""
        with self._lock:
            total = RuleMetrics()
            for arn, metrics in self._rules.items():
                if _is_rule(arn, rule):
                    total.matched_events += metrics.matched_events
                    total.invocations += metrics.invocations
                    total.failed_invocations += metrics.failed_invocations
            return total

    def failures(self, rule: str | None = None) -> list[FailedInvocation]:
        """The recent failed invocations, oldest first (of one rule, by ARN or name, if given)."""
        with self._lock:
            return [failure for failure in self._failures if rule is None or _is_rule(failure.rule_arn, rule)]

    def snapshot(self) -> dict[str, Any]:
        """`{"rules": {rule ARN: counters}, "failures": [...]}`, JSON-ready (`GET /_local/eventbridge`)."""
        with self._lock:
            return {
                "rules": {arn: metrics.to_dict() for arn, metrics in self._rules.items()},
                "failures": [asdict(failure) for failure in self._failures],
            }

    def clear(self) -> None:
        """Forget every counter and failure."""
        with self._lock:
            self._rules.clear()
            self._failures.clear()


def _is_rule(arn: str, rule: str) -> bool:
    """`rule` is this ARN, or the name at its end (`rule/<name>` or `rule/<bus>/<name>`)."""
    return arn == rule or (not rule.startswith("arn:") and arn.rsplit("/", 1)[-1] == rule)
