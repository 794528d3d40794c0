"""Where the project's EventBridge semantics enter moto: three methods of its events models.

- `EventsBackend.put_rule`: the pattern is validated by `rules.pattern` first, so PutRule refuses
  what AWS refuses (`InvalidEventPatternException` with AWS's text), e.g. unknown operators or a
  pattern that is a JSON array, which moto accepts or crashes on.
- `EventsBackend.put_targets`: each target's Input / InputPath / InputTransformer is validated by
  `rules.transformer` first (`ValidationException` with AWS's text).
- `Rule.send_to_targets`: replaced by `RuleDelivery.deliver` (state, pattern, rendering, delivery).

Why patch the models rather than answer `AWSEvents.*` in the middleware: every way an event reaches
a rule goes through `send_to_targets` (PutEvents, a forward from another bus, an archive replay) and
every way a rule is made goes through `put_rule`/`put_targets` (the API, CloudFormation stacks), so
three small wrappers cover them all while moto keeps its request parsing, responses, errors and
every other operation. The patch is process-wide, like moto's state; installing it twice is a no-op.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any

from port_aws_exporter.eventbridge.pattern import InvalidPatternError, compile_pattern
from port_aws_exporter.eventbridge.transformer import InputTransformerError, validate_target
from port_aws_exporter.local.aws.eventbridge.delivery import RuleDelivery
from port_aws_exporter.local.aws.eventbridge.metrics import EventBridgeMetrics

__all__ = ["EVENTBRIDGE_METRICS", "install_local_eventbridge"]

# moto's state is process-wide, so is what the local EventBridge counts.
EVENTBRIDGE_METRICS = EventBridgeMetrics()
_DELIVERY = RuleDelivery(EVENTBRIDGE_METRICS)
_lock = threading.Lock()


def install_local_eventbridge() -> EventBridgeMetrics:
    """Put the project's matcher, renderer and delivery into moto's EventBridge (once per process).

    Returns the process-wide metrics the delivery counts into.
    """
    from moto.events.models import EventsBackend, Rule

    with _lock:
        if Rule.send_to_targets is not _send_to_targets:
            EventsBackend.put_rule = _validating(EventsBackend.put_rule, "event_pattern", _check_pattern)  # type: ignore[method-assign]
            EventsBackend.put_targets = _validating(EventsBackend.put_targets, "targets", _check_targets)  # type: ignore[method-assign]
            Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
    return EVENTBRIDGE_METRICS


def _validating(method: Callable[..., Any], argument: str, check: Callable[[Any], None]) -> Callable[..., Any]:
    """`method`, checking its `argument` with `check` first."""
    signature = inspect.signature(method)
    if argument not in signature.parameters:
        # Fail at start-up, loudly, rather than silently running moto's semantics.
        raise RuntimeError(
            f"moto's {method.__qualname__} no longer takes {argument!r}: the local EventBridge needs updating"
        )

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = signature.bind(*args, **kwargs).arguments.get(argument)
        if value:
            check(value)
        return method(*args, **kwargs)

    return wrapper


def _check_pattern(pattern: Any) -> None:
    from moto.core.exceptions import JsonRESTError

    try:
        compile_pattern(pattern if isinstance(pattern, str) else dict(pattern))
    except InvalidPatternError as error:
        raise JsonRESTError("InvalidEventPatternException", str(error)) from error


def _check_targets(targets: Any) -> None:
    from moto.events.exceptions import ValidationException

    for target in targets:
        try:
            check_target(target)
        except InputTransformerError as error:
            raise ValidationException(str(error)) from error


def check_target(target: Mapping[str, Any]) -> None:
    """Validate how a PutTargets target shapes its input; raise InputTransformerError."""
    transformer = target.get("InputTransformer")
    if transformer is not None and "InputTemplate" not in transformer:
        raise InputTransformerError(f"InputTransformer for target {target.get('Id')} needs an InputTemplate.")
    validate_target(
        str(target.get("Id", "")),
        input=target.get("Input"),
        input_path=target.get("InputPath"),
        input_paths_map=transformer.get("InputPathsMap") or {} if transformer else None,
        input_template=transformer.get("InputTemplate") if transformer else None,
    )


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    """`Rule.send_to_targets`, the project's way. AWS transforms replayed events too, so
    `transform_input` (False only for moto's replays) is not needed."""
    _DELIVERY.deliver(self, original_event)
