"""EventBridge as AWS runs it, inside the local endpoint: moto's rules, targets and delivery, with the
project's pattern matcher (`rules.pattern`) and InputTransformer renderer (`rules.transformer`).

    from port_aws_exporter.local.aws import start_local_aws

    with start_local_aws() as aws:           # installs it
        ...                                   # put_rule / put_targets / put_events through boto3
        aws.eventbridge.rule("my-rule")       # RuleMetrics: MatchedEvents, Invocations, FailedInvocations
        aws.eventbridge.failures()            # recent failed invocations, with the reason

See `moto_hooks` for where it plugs into moto and why, `delivery` for the rules of delivery.
"""

from port_aws_exporter.local.aws.eventbridge.metrics import EventBridgeMetrics, FailedInvocation, RuleMetrics
from port_aws_exporter.local.aws.eventbridge.moto_hooks import EVENTBRIDGE_METRICS, install_local_eventbridge
from port_aws_exporter.local.aws.eventbridge.pattern_api import TARGET as TEST_EVENT_PATTERN_TARGET
from port_aws_exporter.local.aws.eventbridge.pattern_api import answer_test_event_pattern

__all__ = [
    "EVENTBRIDGE_METRICS",
    "TEST_EVENT_PATTERN_TARGET",
    "EventBridgeMetrics",
    "FailedInvocation",
    "RuleMetrics",
    "answer_test_event_pattern",
    "install_local_eventbridge",
]
